"""Where each accepted container really ends, and what an MP4 holds: small structural walkers.

A decoder reads what it needs and ignores the rest, so a file that is "a JPEG" to Pillow may
also be a ZIP archive, an HTML page or a script when the bytes after the image are read by
something else (a polyglot). These walkers follow each format's own framing — JPEG markers and
entropy-coded scans up to EOI, PNG chunks up to IEND, GIF blocks up to the trailer, the RIFF
size of WebP, the box tree of MP4 — and say where the container ends; workflows.media.intake
refuses a file with anything but padding after that point (docs/media.md, "Polyglots").

Nothing is decoded here (Pillow and mutagen do that); a walker raises `Malformed` when the
framing is broken or cut short, which intake reports as a damaged file.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO


class Malformed(Exception):
    """The container's framing is broken or ends too early (a truncated or damaged file)."""


class Trailing(Malformed):
    """A complete MP4 (ftyp, moov, mdat) followed by bytes that are no top-level box."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"data after the movie at {offset}")
        self.offset = offset


# --- images (the whole file is in memory: images are capped at MEDIA_MAX_IMAGE_BYTES) ---------

def jpeg_end(data: bytes) -> int:
    """The offset just after the JPEG's EOI marker (FF D9)."""
    n = len(data)
    if data[:2] != b"\xff\xd8":
        raise Malformed("no SOI")
    i = 2
    while True:
        if i >= n:
            raise Malformed("no EOI")
        if data[i] != 0xFF:
            raise Malformed(f"expected a marker at {i}")
        while i < n and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= n:
            raise Malformed("no EOI")
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM, RSTn: no length
            continue
        if marker == 0x00:
            raise Malformed(f"stuffed byte outside a scan at {i}")
        if i + 2 > n:
            raise Malformed("segment cut short")
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2 or i + length > n:
            raise Malformed("segment cut short")
        i += length
        if marker == 0xDA:  # SOS: entropy-coded data up to the next real marker
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    raise Malformed("scan cut short")
                following = data[j + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    i = j + 1 if following == 0xFF else j + 2
                    continue
                i = j
                break


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_end(data: bytes) -> int:
    """The offset just after the PNG's IEND chunk (with its CRC)."""
    if data[:8] != _PNG_SIGNATURE:
        raise Malformed("no PNG signature")
    i, n = 8, len(data)
    while True:
        if i + 8 > n:
            raise Malformed("no IEND")
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        if length > 0x7FFFFFFF:
            raise Malformed("chunk length out of range")
        end = i + 8 + length + 4
        if end > n:
            raise Malformed("chunk cut short")
        if kind == b"IEND":
            return end
        i = end


def _gif_sub_blocks(data: bytes, i: int) -> int:
    n = len(data)
    while True:
        if i >= n:
            raise Malformed("sub-blocks cut short")
        size = data[i]
        i += 1
        if size == 0:
            return i
        i += size


def gif_end(data: bytes) -> int:
    """The offset just after the GIF's trailer (3B)."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise Malformed("no GIF header")
    packed = data[10]
    i = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    n = len(data)
    while True:
        if i >= n:
            raise Malformed("no trailer")
        block = data[i]
        if block == 0x3B:
            return i + 1
        if block == 0x21:  # extension: label, then sub-blocks
            i = _gif_sub_blocks(data, i + 2)
        elif block == 0x2C:  # image descriptor, local colour table, LZW code size, sub-blocks
            if i + 10 > n:
                raise Malformed("image descriptor cut short")
            packed = data[i + 9]
            i += 10 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
            i = _gif_sub_blocks(data, i + 1)
        else:
            raise Malformed(f"unknown block {block:#x} at {i}")


@dataclass(frozen=True)
class WebpInfo:
    end: int
    lossless: bool
    animated: bool


def webp_info(data: bytes) -> WebpInfo:
    """Where the WebP's RIFF container ends, and whether it is lossless or animated (its chunks)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Malformed("no RIFF/WEBP header")
    end = 8 + struct.unpack("<I", data[4:8])[0]
    if end > len(data):
        raise Malformed("RIFF cut short")
    i, kinds = 12, set()
    while i + 8 <= end:
        kind, size = struct.unpack("<4sI", data[i:i + 8])
        kinds.add(kind)
        i += 8 + size + (size & 1)
    if i != end and i != end + 1:
        raise Malformed("chunks do not fill the RIFF")
    return WebpInfo(end=end, lossless=b"VP8L" in kinds and b"VP8 " not in kinds, animated=b"ANIM" in kinds)


# --- MP4 (read from a file: videos may be large) ----------------------------------------------

#: Boxes whose children are boxes (the ones walked for tracks and metadata).
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex"}
#: Top-level boxes a plain (progressive) MP4 may hold.
TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"meta", b"moof",
             b"mfra", b"sidx", b"styp"}
#: Boxes that only carry metadata (tags, location, XMP, comments) or free space (where anything
#: may be hidden): blanked by `blank_metadata`.
METADATA = {b"udta", b"meta", b"uuid", b"free", b"skip", b"wide"}


@dataclass
class Box:
    kind: bytes
    offset: int  # of the box header
    size: int  # the whole box, header included
    header: int  # 8, or 16 with a 64-bit size
    children: list[Box] = field(default_factory=list)

    @property
    def payload(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size


def _read_boxes(fp: IO[bytes], start: int, stop: int, depth: int = 0) -> list[Box]:
    if depth > 8:
        raise Malformed("boxes nested too deeply")
    boxes: list[Box] = []
    pos = start
    while pos < stop:
        complete = depth == 0 and {b"ftyp", b"moov", b"mdat"} <= {b.kind for b in boxes}
        if stop - pos < 8:
            raise Trailing(pos) if complete else Malformed("box header cut short")
        fp.seek(pos)
        size, kind = struct.unpack(">I4s", fp.read(8))
        if complete and kind not in TOP_LEVEL:
            raise Trailing(pos)
        header = 8
        if size == 1:
            raw = fp.read(8)
            if len(raw) < 8:
                raise Malformed("box header cut short")
            size, header = struct.unpack(">Q", raw)[0], 16
        elif size == 0 and depth == 0:
            size = stop - pos  # extends to the end of the file
        if size < header or pos + size > stop:
            raise Malformed(f"box {kind!r} at {pos} overruns its parent")
        box = Box(kind, pos, size, header)
        if kind in _CONTAINERS:
            box.children = _read_boxes(fp, box.payload, box.end, depth + 1)
        boxes.append(box)
        if len(boxes) > 100_000:
            raise Malformed("too many boxes")
        pos += size
    return boxes


def mp4_boxes(fp: IO[bytes], size: int) -> list[Box]:
    """The file's top-level boxes (containers walked). Raises Malformed when they do not tile the
    file exactly: a box running past the end (truncated) or bytes that are no box."""
    return _read_boxes(fp, 0, size)


def walk(boxes: list[Box]) -> Iterator[tuple[Box, Box | None]]:
    """Every box with its parent (None at the top level), depth first."""
    stack: list[tuple[Box, Box | None]] = [(b, None) for b in reversed(boxes)]
    while stack:
        box, parent = stack.pop()
        yield box, parent
        stack.extend((c, box) for c in reversed(box.children))


def _payload(fp: IO[bytes], box: Box, limit: int = 256) -> bytes:
    fp.seek(box.payload)
    return fp.read(min(limit, box.size - box.header))


@dataclass(frozen=True)
class Mp4Info:
    brand: bytes
    duration: float  # seconds: the longest of the movie header and every track's media header
    has_video: bool
    width: int | None
    height: int | None
    fragmented: bool


def _duration(data: bytes, *, media: bool) -> float:
    """(timescale, duration) of an mvhd/mdhd payload, as seconds."""
    if len(data) < 4:
        raise Malformed("header cut short")
    version = data[0]
    if version == 1:
        if len(data) < 4 + 28:
            raise Malformed("header cut short")
        timescale, duration = struct.unpack(">IQ", data[20:32])
    else:
        if len(data) < 4 + 16:
            raise Malformed("header cut short")
        timescale, duration = struct.unpack(">II", data[12:20])
    if timescale == 0:
        raise Malformed("zero timescale")
    if duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return float("inf")  # "unknown": refused as too long rather than guessed
    return duration / timescale


def mp4_info(fp: IO[bytes], boxes: list[Box]) -> Mp4Info:
    """The brand, duration, video track and its size, read from the box tree."""
    top = {b.kind for b in boxes}
    if not boxes or boxes[0].kind != b"ftyp":
        raise Malformed("ftyp is not first")
    brand = _payload(fp, boxes[0], 4)
    moovs = [b for b in boxes if b.kind == b"moov"]
    if len(moovs) != 1:
        raise Malformed("one moov box expected")
    moov = moovs[0]
    duration = 0.0
    has_video, width, height = False, None, None
    for child in moov.children:
        if child.kind == b"mvhd":
            duration = max(duration, _duration(_payload(fp, child, 40), media=False))
        if child.kind != b"trak":
            continue
        mdia = next((c for c in child.children if c.kind == b"mdia"), None)
        if mdia is None:
            continue
        handler = b""
        for c in mdia.children:
            if c.kind == b"hdlr":
                handler = _payload(fp, c, 12)[8:12]
            elif c.kind == b"mdhd":
                duration = max(duration, _duration(_payload(fp, c, 40), media=True))
        if handler == b"vide" and not has_video:
            has_video = True
            tkhd = next((c for c in child.children if c.kind == b"tkhd"), None)
            if tkhd is not None:
                raw = _payload(fp, tkhd, 96)
                if len(raw) >= 8:
                    w, h = struct.unpack(">II", raw[-8:])
                    width, height = (w >> 16) or None, (h >> 16) or None
    return Mp4Info(brand=brand, duration=duration, has_video=has_video, width=width, height=height,
                   fragmented=b"moof" in top or any(c.kind == b"mvex" for c in moov.children))


def blank_metadata(fp: IO[bytes], boxes: list[Box]) -> int:
    """Turn every metadata or free-space box (user data, `meta`, `uuid` such as XMP, `free`,
    `skip`, `wide`) at the top level, in the movie and in each track into a `free` box of the
    same size, its payload zeroed: location, tags, comments and anything hidden there are gone,
    and no offset moves (chunk offsets point into `mdat`, never into these boxes; `free` may
    stand anywhere). Returns how many were blanked. `fp` must be open for writing."""
    count = 0
    for box, parent in walk(boxes):
        if box.kind not in METADATA:
            continue
        if parent is not None and parent.kind not in (b"moov", b"trak"):
            continue
        fp.seek(box.offset + 4)
        fp.write(b"free")
        fp.seek(box.payload)
        remaining = box.size - box.header
        zeros = b"\0" * 65536
        while remaining > 0:
            step = min(remaining, len(zeros))
            fp.write(zeros[:step])
            remaining -= step
        count += 1
    return count
