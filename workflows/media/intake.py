"""Uploads made safe before anything is stored (issue 22, docs/media.md): `clean_upload`.

What comes in is whatever a browser or an integration sent; what comes out is a file Parley is
willing to store and serve, or a `MediaRefused` (422, a `media.upload.*` code in the reader's
language) and nothing else:

1. **The type is read from the content**, never from the name or the client's Content-Type: the
   first bytes must be the signature of JPEG, PNG, GIF, WebP or an MP4 brand, and the decoder
   told to open exactly that format (Pillow's `formats=`; mutagen for MP4) must agree. SVG is
   refused by name (it is a document that runs scripts); HTML, PDF, archives and everything else
   are refused, the type puremagic recognises given as `found`.
2. **Caps** (settings, README "Configuration"): bytes per kind (checked on the declared size
   before reading, then while reading in chunks), pixels (`MEDIA_MAX_PIXELS`, checked from the
   header before any pixel is decoded; Pillow's own limit set to the same and its
   DecompressionBombWarning an error), frames and pixels of all frames of an animation, video
   duration (the longest of the movie's and every track's header, and mutagen's reading).
3. **Whole and alone**: the container's own framing is walked to its end (containers.py);
   anything but padding after it, or markup/script signatures anywhere in an image, is a
   polyglot and refused. Pillow `verify()`s, then a fresh open decodes every pixel (`load()`):
   a truncated or damaged file is refused.
4. **Metadata stripped**: images are re-encoded from their pixels (EXIF orientation applied
   first; colours converted to sRGB when an ICC profile is present, the profile then dropped;
   no EXIF, GPS, XMP, comments or text chunks are written). JPEG stays JPEG (quality
   MEDIA_JPEG_QUALITY), PNG stays PNG, an animated GIF or WebP keeps its frames and timing (an
   animated PNG keeps its first frame). An MP4 is stored as sent after validation, except its
   tags (mutagen deletes them) and every other metadata box (user data, `meta`, `uuid`: blanked
   to `free` in place, so no sample offset moves).
5. A JPEG thumbnail (MEDIA_THUMBNAIL_SIZE px on the longer side) for images.

Pure processing: no database, no storage. workflows.services.media stores the result.
"""
from __future__ import annotations

import hashlib
import io
import logging
import math
import struct
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, NoReturn

import puremagic
from django.conf import settings
from mutagen import MutagenError
from mutagen.mp4 import MP4
from PIL import Image, ImageCms, ImageOps

from ..exceptions import MediaRefused
from ..messages import Message
from . import containers

log = logging.getLogger("parley.media")

# A decompression bomb is an error, never a warning to log and carry on after (issue 22).
warnings.simplefilter("error", Image.DecompressionBombWarning)

JPEG, PNG, GIF, WEBP, MP4_TYPE = "image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"
#: The accepted types, with the Pillow format that must read each image.
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}
ACCEPTED = (*PILLOW_FORMATS, MP4_TYPE)
#: The name a person knows each type by (language-neutral), for messages.
LABELS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WebP", MP4_TYPE: "MP4"}
#: MP4 brands (ISO base media files) accepted as video/mp4: not QuickTime, HEIF/AVIF images, audio.
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
              b"M4VH", b"M4VP", b"dash", b"mmp4"}
#: Other ISO base media brands, for the `found` of a refusal.
OTHER_BRANDS = {b"qt  ": "video/quicktime", b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif",
                b"msf1": "image/heif", b"avif": "image/avif", b"avis": "image/avif", b"M4A ": "audio/mp4",
                b"M4B ": "audio/mp4", b"3gp4": "video/3gpp", b"3gp5": "video/3gpp", b"3g2a": "video/3gpp2",
                b"crx ": "image/x-canon-cr3"}
#: Signatures of markup and script that have no business inside an image: a file carrying them
#: is two things at once (an image to Pillow, a page or script to a browser that sniffs it).
#: Matched case-insensitively over the whole file, compressed pixel data included, so each is at
#: least six bytes long: the chance that random bytes spell one is then below one in a million
#: per 16 MB image (a four-byte "<svg" would strike about one in thirty).
MARKUP = (b"<script", b"<html>", b"<html ", b"<!doctype html", b"www.w3.org/2000/svg", b"<iframe", b"<body>",
          b"<body ", b"<object", b"<embed ", b"javascript:")
#: Bytes allowed after a container's end (encoders pad with them).
PADDING = b"\x00\xff\r\n\t "
HEAD = 64 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The caps, read from settings at each upload (tests and operators change them)."""

    image_bytes: int
    video_bytes: int
    pixels: int
    animation_pixels: int
    frames: int
    video_seconds: float
    thumbnail_px: int
    jpeg_quality: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            image_bytes=settings.MEDIA_MAX_IMAGE_BYTES, video_bytes=settings.MEDIA_MAX_VIDEO_BYTES,
            pixels=settings.MEDIA_MAX_PIXELS, animation_pixels=settings.MEDIA_MAX_ANIMATION_PIXELS,
            frames=settings.MEDIA_MAX_FRAMES, video_seconds=settings.MEDIA_MAX_VIDEO_SECONDS,
            thumbnail_px=settings.MEDIA_THUMBNAIL_SIZE, jpeg_quality=settings.MEDIA_JPEG_QUALITY,
        )


@dataclass
class CleanMedium:
    """A file safe to store: its bytes (`file`, at position 0), what was read from them, and a
    JPEG thumbnail for an image. Close it (or use it as a context manager) when stored."""

    kind: str  # "image" or "video" (models.MediaKind)
    content_type: str
    file: IO[bytes]
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    thumbnail: bytes | None
    original_name: str

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> CleanMedium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refuse(code: str, **params: Any) -> NoReturn:
    """Raise the refusal `code` (media.upload.*), as an error on the `file` field too."""
    raise MediaRefused(code=code, params=params, errors={"file": [Message(code, params)]})


def _megabytes(n: int) -> float:
    value = n / (1024 * 1024)
    return round(value, 1) if value < 10 else float(math.ceil(value))


def _too_large(size: int, cap: int, content_type: str) -> NoReturn:
    refuse("media.upload.too_large", format=LABELS[content_type], size_mb=max(_megabytes(size), 0.1),
           limit_mb=_megabytes(cap), size=size, limit=cap)


# --- reading ----------------------------------------------------------------------------------

def _chunks(upload: Any) -> Iterator[bytes]:
    """The upload's bytes in chunks: a Django UploadedFile (`chunks()`) or any binary file."""
    if hasattr(upload, "chunks"):
        yield from upload.chunks(CHUNK)
        return
    upload.seek(0)
    while chunk := upload.read(CHUNK):
        yield chunk


def clean_name(name: str | None) -> str:
    """The uploader's file name, for display only: its last path part, printable, capped."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:255]


def clean_upload(upload: Any, *, name: str | None = None, limits: Limits | None = None) -> CleanMedium:
    """Read `upload` (a Django UploadedFile or a binary file), check it and make it safe.

    Raises MediaRefused (422) with a `media.upload.*` code; nothing is kept then (the temporary
    file of a video is deleted). See the module's docstring for every step."""
    limits = limits or Limits.from_settings()
    original = clean_name(name if name is not None else getattr(upload, "name", ""))
    chunks = _chunks(upload)
    head = bytearray()
    for chunk in chunks:
        head += chunk
        if len(head) >= HEAD:
            break
    if not head:
        refuse("media.upload.empty")
    content_type = sniff(bytes(head[:HEAD]))
    cap = limits.video_bytes if content_type == MP4_TYPE else limits.image_bytes
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > cap:
        _too_large(declared, cap, content_type)
    if content_type == MP4_TYPE:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by CleanMedium or below
        try:
            size = len(head)
            spool.write(head)
            for chunk in chunks:
                size += len(chunk)
                if size > cap:
                    _too_large(size, cap, content_type)
                spool.write(chunk)
            return _clean_mp4(spool, size, limits, original)
        except BaseException:
            spool.close()
            raise
    parts, size = [bytes(head)], len(head)
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            _too_large(size, cap, content_type)
        parts.append(chunk)
    if size > cap:
        _too_large(size, cap, content_type)
    data = b"".join(parts)
    del parts
    return _clean_image(data, content_type, limits, original)


# --- sniffing ---------------------------------------------------------------------------------

def _markup(data: bytes) -> bool:
    lowered = data.lower()
    return any(sig in lowered for sig in MARKUP)


def found_type(data: bytes, *, besides: tuple[str, ...] = ()) -> str:
    """What `data` looks like, as a media type ("" when nothing is recognised): markup by its
    tags, anything else by puremagic's signatures. `besides`: types it is known not to be."""
    text = data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "image/svg+xml"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe")) or b"<html" in text:
        return "text/html"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "application/zip"  # puremagic names the Office formats built on ZIP first
    try:
        matches = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        return ""
    best = next((m for m in matches if m.mime_type and m.mime_type not in besides), None)
    return best.mime_type if best else ""


def sniff(head: bytes) -> str:
    """The accepted media type the first bytes announce; refuses everything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in MP4_BRANDS:
            return MP4_TYPE
        refuse("media.upload.unsupported", found=OTHER_BRANDS.get(brand, "application/octet-stream"))
    # The signatures above took none of the accepted types, so the file is none of them, whatever
    # puremagic's table says (it names a JPEG 2000 file "image/jpeg": the reader would be told
    # JPEG is refused).
    found = found_type(head, besides=ACCEPTED)
    if found == "image/svg+xml":
        refuse("media.upload.svg", found=found)
    if found:
        refuse("media.upload.unsupported", found=found)
    refuse("media.upload.unrecognised")


def _refuse_polyglot(content_type: str, extra: bytes) -> NoReturn:
    refuse("media.upload.polyglot", format=LABELS[content_type], found=found_type(extra) or "")


# --- images -----------------------------------------------------------------------------------

_SRGB: Any = None


def _srgb() -> Any:
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def _upright(im: Image.Image) -> Image.Image:
    """The pixels as a person should see them, with nothing else: EXIF orientation applied,
    colours in sRGB (when an ICC profile came with them), and no metadata left in `info`."""
    icc = im.info.get("icc_profile")
    transparency = im.info.get("transparency")
    ImageOps.exif_transpose(im, in_place=True)  # no copy of the pixels when already upright
    out = im
    if icc and out.mode in ("RGB", "RGBA", "CMYK"):
        try:
            out = ImageCms.profileToProfile(out, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _srgb(),
                                            outputMode="RGBA" if out.mode == "RGBA" else "RGB") or out
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.info("media: an unreadable ICC profile was dropped; colours read as sRGB")
    if out.mode == "CMYK":
        out = out.convert("RGB")
    out.info = {} if transparency is None or out.mode not in ("P", "L", "RGB", "1") else {"transparency": transparency}
    return out


def _thumbnail(frame: Image.Image, px: int) -> bytes:
    """A JPEG of at most `px` on the longer side (alpha flattened on white); `frame` is not changed."""
    scale = min(px / frame.width, px / frame.height, 1.0)
    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    thumb = frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0) if scale < 1 else frame.copy()
    if thumb.mode in ("RGBA", "LA", "PA") or (thumb.mode == "P" and "transparency" in thumb.info):
        rgba = thumb.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        thumb = flat
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=85)
    return out.getvalue()


def _save_still(frame: Image.Image, content_type: str, *, lossless: bool, quality: int) -> bytes:
    out = io.BytesIO()
    extra: dict[str, Any] = {}
    if "transparency" in frame.info:
        extra["transparency"] = frame.info["transparency"]
    frame.info = {}
    if content_type == JPEG:
        if frame.mode not in ("RGB", "L"):
            frame = frame.convert("RGB")
        frame.save(out, "JPEG", quality=quality)
    elif content_type == PNG:
        if frame.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            frame = frame.convert("RGBA")
        frame.save(out, "PNG", **extra)
    elif content_type == GIF:
        if frame.mode not in ("P", "L"):
            frame, extra = frame.convert("RGBA"), {}
        frame.save(out, "GIF", **extra)
    else:
        if frame.mode not in ("RGB", "RGBA"):
            frame = frame.convert("RGBA")
        frame.save(out, "WEBP", lossless=lossless, quality=100 if lossless else quality)
    return out.getvalue()


def _save_animation(frames: list[Image.Image], durations: list[int], loop: int | None, content_type: str, *,
                    lossless: bool, quality: int) -> bytes:
    out = io.BytesIO()
    for f in frames:
        f.info = {}
    first, rest = frames[0], frames[1:]
    if content_type == GIF:
        kwargs: dict[str, Any] = {"duration": durations, "disposal": 2}
        if loop is not None:
            kwargs["loop"] = loop
        first.save(out, "GIF", save_all=True, append_images=rest, **kwargs)
    else:
        first.save(out, "WEBP", save_all=True, append_images=rest, duration=durations, loop=loop or 0,
                   lossless=lossless, quality=100 if lossless else quality)
    return out.getvalue()


def _open(data: bytes, content_type: str) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[content_type]])


def _reencode(data: bytes, content_type: str, limits: Limits, *, lossless: bool) -> tuple[bytes, bytes, int, int]:
    """(stored bytes, thumbnail, width, height): every pixel decoded, re-encoded without metadata."""
    Image.MAX_IMAGE_PIXELS = limits.pixels  # Pillow's own bomb check, at the same cap
    probe = _open(data, content_type)
    width, height = probe.size
    if width <= 0 or height <= 0:
        raise ValueError("empty image")
    if width * height > limits.pixels:
        refuse("media.upload.too_many_pixels", width=width, height=height, limit_mp=limits.pixels / 1e6)
    probe.verify()  # structure and checksums, without decoding (Pillow: reopen after verify)
    im = _open(data, content_type)
    frames = getattr(im, "n_frames", 1) if content_type in (GIF, WEBP) else 1
    if frames > 1 and (frames > limits.frames or frames * width * height > limits.animation_pixels):
        refuse("media.upload.animation_too_big", frames=frames, limit_frames=limits.frames,
               limit_mp=limits.animation_pixels / 1e6)
    if frames <= 1:
        im.load()
        upright = _upright(im)
        thumb = _thumbnail(upright, limits.thumbnail_px)
        stored = _save_still(upright, content_type, lossless=lossless, quality=limits.jpeg_quality)
        return stored, thumb, upright.width, upright.height
    loop = im.info.get("loop")
    pictures: list[Image.Image] = []
    durations: list[int] = []
    for index in range(frames):
        im.seek(index)
        im.load()
        durations.append(int(im.info.get("duration") or 100))
        pictures.append(im.convert("RGBA"))
    stored = _save_animation(pictures, durations, loop, content_type, lossless=lossless, quality=limits.jpeg_quality)
    return stored, _thumbnail(pictures[0], limits.thumbnail_px), width, height


def _clean_image(data: bytes, content_type: str, limits: Limits, original: str) -> CleanMedium:
    label = LABELS[content_type]
    lossless = False
    try:
        if content_type == JPEG:
            end = containers.jpeg_end(data)
        elif content_type == PNG:
            end = containers.png_end(data)
        elif content_type == GIF:
            end = containers.gif_end(data)
        else:
            info = containers.webp_info(data)
            end, lossless = info.end, info.lossless
    except containers.Malformed as exc:
        log.info("media: refused a damaged %s (%s)", label, exc)
        refuse("media.upload.corrupted", format=label)
    extra = data[end:]
    if extra.strip(PADDING):
        _refuse_polyglot(content_type, extra.lstrip(PADDING))
    if _markup(data):
        refuse("media.upload.polyglot", format=label, found="text/html")
    try:
        stored, thumb, width, height = _reencode(data, content_type, limits, lossless=lossless)
    except MediaRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        refuse("media.upload.too_many_pixels", limit_mp=limits.pixels / 1e6)
    except Exception as exc:  # noqa: BLE001 - whatever a hostile file makes a decoder raise is a refusal
        log.info("media: refused a %s Pillow could not decode (%s: %s)", label, type(exc).__name__, exc)
        refuse("media.upload.corrupted", format=label)
    return CleanMedium(
        kind="image", content_type=content_type, file=io.BytesIO(stored), size=len(stored),
        sha256=hashlib.sha256(stored).hexdigest(), width=width, height=height, duration=None,
        thumbnail=thumb, original_name=original,
    )


# --- video ------------------------------------------------------------------------------------

def _mp4_boxes(spool: IO[bytes], size: int) -> list[containers.Box]:
    try:
        boxes = containers.mp4_boxes(spool, size)
    except containers.Trailing as exc:
        spool.seek(exc.offset)
        _refuse_polyglot(MP4_TYPE, spool.read(HEAD))
    except containers.Malformed as exc:
        log.info("media: refused a damaged MP4 (%s)", exc)
        refuse("media.upload.corrupted", format="MP4")
    stray = next((b for b in boxes if b.kind not in containers.TOP_LEVEL), None)
    if stray is not None:
        spool.seek(stray.offset)
        _refuse_polyglot(MP4_TYPE, spool.read(HEAD))
    return boxes


def _mutagen_length(spool: IO[bytes]) -> float:
    spool.seek(0)
    try:
        info = MP4(spool).info
        if info is None:
            raise ValueError("no stream information")
        return float(info.length)
    except (MutagenError, struct.error, ValueError, IndexError, KeyError, OverflowError) as exc:
        log.info("media: refused an MP4 mutagen cannot read (%s)", exc)
        refuse("media.upload.corrupted", format="MP4")


def _clean_mp4(spool: IO[bytes], size: int, limits: Limits, original: str) -> CleanMedium:
    boxes = _mp4_boxes(spool, size)
    try:
        info = containers.mp4_info(spool, boxes)
    except containers.Malformed as exc:
        log.info("media: refused a damaged MP4 (%s)", exc)
        refuse("media.upload.corrupted", format="MP4")
    if info.fragmented:
        refuse("media.upload.video_fragmented")
    if not any(b.kind == b"mdat" for b in boxes):
        refuse("media.upload.corrupted", format="MP4")
    if not info.has_video:
        refuse("media.upload.no_video_track")
    duration = max(info.duration, _mutagen_length(spool))
    if duration > limits.video_seconds:
        refuse("media.upload.too_long", length_s=math.ceil(duration) if math.isfinite(duration) else 0,
               limit_s=limits.video_seconds)
    # Tags out (mutagen), then every other metadata box blanked in place.
    spool.seek(0)
    try:
        tagged = MP4(spool)
        if tagged.tags is not None:
            spool.seek(0)
            tagged.delete(spool)
    except (MutagenError, struct.error, ValueError) as exc:
        log.info("media: refused an MP4 whose tags could not be removed (%s)", exc)
        refuse("media.upload.corrupted", format="MP4")
    spool.seek(0, io.SEEK_END)
    size = spool.tell()
    boxes = _mp4_boxes(spool, size)
    containers.blank_metadata(spool, boxes)
    spool.flush()
    _mutagen_length(spool)  # still an MP4 mutagen reads
    digest = hashlib.sha256()
    spool.seek(0)
    while chunk := spool.read(CHUNK):
        digest.update(chunk)
    spool.seek(0)
    return CleanMedium(
        kind="video", content_type=MP4_TYPE, file=spool, size=size, sha256=digest.hexdigest(),
        width=info.width, height=info.height, duration=round(duration, 3), thumbnail=None,
        original_name=original,
    )
