"""Files to upload, made in the test: images with Pillow, MP4s box by box (no ffmpeg here), and
every kind of hostile file the intake must refuse (docs/media.md)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def image(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), mode: str = "RGB", **save) -> bytes:
    """A small picture: a colour gradient, so re-encoding has something to do."""
    im = Image.new(mode, size)
    if mode in ("RGB", "RGBA"):
        w, h = size
        im = Image.merge("RGB", [Image.linear_gradient("L").resize(size), Image.new("L", size, 90),
                                 Image.linear_gradient("L").rotate(90).resize(size)])
        if mode == "RGBA":
            im.putalpha(200)
    out = io.BytesIO()
    im.save(out, fmt, **save)
    return out.getvalue()


def noisy(fmt: str = "PNG", size: tuple[int, int] = (300, 300)) -> bytes:
    """A picture that does not compress: many bytes for few pixels."""
    im = Image.merge("RGB", [Image.effect_noise(size, 80) for _ in range(3)])
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


def gps_jpeg(orientation: int | None = None, size: tuple[int, int] = (64, 32)) -> bytes:
    """A JPEG with GPS coordinates (Ottawa), a camera make, a comment and optionally an EXIF
    orientation: what a phone sends."""
    im = Image.new("RGB", size, (250, 10, 10))
    im.paste((10, 10, 250), (0, 0, size[0] // 2, size[1]))  # left half blue, right half red
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = {1: "N", 2: (45.0, 25.0, 17.0), 3: "W", 4: (75.0, 41.0, 50.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG that declares a huge canvas (a decompression bomb's header): 10 gigapixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\0" * 1000, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def corrupted_png() -> bytes:
    """A PNG whose image data was damaged (its CRC no longer matches)."""
    data = bytearray(image("PNG"))
    at = data.index(b"IDAT") + 20
    data[at:at + 8] = b"\xde\xad\xbe\xef" * 2
    return bytes(data)


def truncated_jpeg() -> bytes:
    data = image("JPEG", (800, 600))
    return data[: len(data) * 2 // 3]


def zip_bytes() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def gif_js_polyglot() -> bytes:
    """The classic GIF/JavaScript polyglot: a GIF whose bytes after the trailer are a script."""
    return image("GIF", (16, 16)) + b"*/=alert(document.domain);//"


def gif_with_script_comment() -> bytes:
    """A GIF carrying an HTML script in a comment extension (inside the container)."""
    data = image("GIF", (16, 16))
    comment = b"<script>alert(1)</script>"
    ext = b"\x21\xfe" + bytes([len(comment)]) + comment + b"\x00"
    return data[:-1] + ext + b";"


def animated(fmt: str = "GIF", frames: int = 3, size: tuple[int, int] = (40, 30)) -> bytes:
    pics = [Image.new("RGB", size, (60 * i, 200 - 40 * i, 20)) for i in range(frames)]
    out = io.BytesIO()
    pics[0].save(out, fmt, save_all=True, append_images=pics[1:], duration=[100 + 10 * i for i in range(frames)],
                 loop=0)
    return out.getvalue()


# --- MP4, box by box ---------------------------------------------------------------------------

def box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full(version: int = 0, flags: int = 0) -> bytes:
    return struct.pack(">I", (version << 24) | flags)


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _track(*, handler: bytes, seconds: float, timescale: int, width: int, height: int, track_id: int) -> bytes:
    duration = int(seconds * timescale)
    tkhd = box(b"tkhd", full(0, 3), struct.pack(">IIIII", 0, 0, track_id, 0, duration), b"\0" * 8,
               struct.pack(">hhhh", 0, 0, 0, 0), MATRIX, struct.pack(">II", width << 16, height << 16))
    mdhd = box(b"mdhd", full(), struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0))
    hdlr = box(b"hdlr", full(), b"\0" * 4, handler, b"\0" * 12, b"Handler\0")
    header = box(b"vmhd", full(0, 1), b"\0" * 8) if handler == b"vide" else box(b"smhd", full(), b"\0" * 4)
    dinf = box(b"dinf", box(b"dref", full(), struct.pack(">I", 1), box(b"url ", full(0, 1))))
    stbl = box(b"stbl", box(b"stsd", full(), struct.pack(">I", 0)), box(b"stts", full(), struct.pack(">I", 0)),
               box(b"stsc", full(), struct.pack(">I", 0)), box(b"stsz", full(), struct.pack(">II", 0, 0)),
               box(b"stco", full(), struct.pack(">I", 0)))
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", header, dinf, stbl)))


def mp4(seconds: float = 5.0, *, timescale: int = 1000, video: bool = True, location: bool = True,
        brand: bytes = b"isom", width: int = 320, height: int = 240, trailing: bytes = b"",
        movie_seconds: float | None = None) -> bytes:
    """A minimal MP4 mutagen reads: ftyp, moov (mvhd, a track, user data with a location as
    Android writes it), mdat. `movie_seconds`: the movie header's duration when it should
    differ from the track's."""
    movie = int((seconds if movie_seconds is None else movie_seconds) * timescale)
    mvhd = box(b"mvhd", full(), struct.pack(">IIII", 0, 0, timescale, movie), struct.pack(">IH", 0x10000, 0x100),
               b"\0" * 10, MATRIX, b"\0" * 24, struct.pack(">I", 2))
    track = _track(handler=b"vide" if video else b"soun", seconds=seconds, timescale=timescale, width=width,
                   height=height, track_id=1)
    parts = [mvhd, track]
    if location:
        parts.append(box(b"udta", box(b"\xa9xyz", struct.pack(">HH", 18, 0x15C7), b"+45.4215-075.6972/")))
    ftyp = box(b"ftyp", brand, struct.pack(">I", 512), b"isomiso2avc1mp41")
    return ftyp + box(b"moov", *parts) + box(b"mdat", b"\0\0\0\x10" + b"\x65" * 64) + trailing


def mp4_with_tags(seconds: float = 5.0, **kwargs) -> bytes:
    """`mp4()` with iTunes-style tags (a title and a comment) written by mutagen."""
    import tempfile

    from mutagen.mp4 import MP4

    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        tmp.write(mp4(seconds, **kwargs))
        tmp.flush()
        tagged = MP4(tmp.name)
        tagged.add_tags()
        tagged.tags["\xa9nam"] = ["Home video"]
        tagged.tags["\xa9cmt"] = ["Shot at 45.4215,-75.6972"]
        tagged.save()
        with open(tmp.name, "rb") as f:
            return f.read()
