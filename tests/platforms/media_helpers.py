"""Media for the publishing tests (issue 22): small real files made here, stored through Django's
storage API, attached to posts as the attachment service would (PostMedium rows).

Images are real PNG/JPEG files made with Pillow (deterministic: a seeded generator). The video is
a minimal ISO base media file (`ftyp` + `moov`/`mvhd` with its duration + `mdat`) built byte by
byte: there is no ffmpeg on these machines, so no encoded frames. It is what a platform that
stores the file without transcoding it (a PDS's blob store, the local Mastodon server) needs, and
it is sniffed as `video/mp4`; a server that decodes video (Mastodon's ffmpeg) would refuse it —
no such server runs in the suite (Takahē takes images only).
"""
from __future__ import annotations

import hashlib
import io
import random
import struct

import pytest


def png_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (30, 110, 200)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), color)
    ImageDraw.Draw(img).rectangle([width // 4, height // 4, width // 2, height // 2], fill=(250, 200, 0))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 80, height: int = 60, *, noise: bool = False, seed: int = 1, quality: int = 90) -> bytes:
    """A JPEG; with `noise`, random pixels (they barely compress: a large file for its size)."""
    from PIL import Image

    if noise:
        rng = random.Random(seed)
        img = Image.frombytes("RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
    else:
        img = Image.new("RGB", (width, height), (20 + seed % 200, 120, 60))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(duration: float = 2.0, *, timescale: int = 1000) -> bytes:
    """A minimal MP4 container: ftyp (isom), moov with an mvhd telling `duration`, an empty mdat."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(b"mvhd", struct.pack(">B3xIIII", 0, 0, 0, timescale, int(duration * timescale))
                + struct.pack(">IH10x", 0x00010000, 0x0100) + matrix + b"\0" * 24 + struct.pack(">I", 2))
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", b"\0" * 64)


VTT_EN = "WEBVTT\n\n00:00.000 --> 00:02.000\nThe minister opens the new office.\n"
VTT_FR = "WEBVTT\n\n00:00.000 --> 00:02.000\nLa ministre inaugure le nouveau bureau.\n"


def make_medium(demo, data: bytes, content_type: str, *, width: int | None = None, height: int | None = None,
                duration: float | None = None):
    """A stored Medium (the file saved through the storage API under a random name)."""
    from django.core.files.base import ContentFile

    from workflows.models import Medium

    if width is None and content_type.startswith("image/"):
        from PIL import Image

        width, height = Image.open(io.BytesIO(data)).size
    medium = Medium(organisation=demo.dana.organisation, uploaded_by=demo.dana,
                    kind="video" if content_type.startswith("video/") else "image", content_type=content_type,
                    size=len(data), sha256=hashlib.sha256(data).hexdigest(), width=width, height=height,
                    duration=duration, original_name="upload")
    medium.file.save("upload", ContentFile(data), save=False)
    medium.save()
    return medium


def attach(post, medium, *, position: int, language: str = "", alt_en: str = "", alt_fr: str = "",
           captions_en: str = "", captions_fr: str = "", focus: tuple[float, float] = (0.0, 0.0)):
    from workflows.models import PostMedium

    return PostMedium.objects.create(post=post, medium=medium, position=position, language=language,
                                     alt_text_en=alt_en, alt_text_fr=alt_fr, captions_en=captions_en,
                                     captions_fr=captions_fr, focus_x=focus[0], focus_y=focus[1])


#: Four images' alternative texts, English and French (what the servers must show).
ALTS = [
    ("A map of the three new passport offices in Ottawa.", "Une carte des trois nouveaux bureaux de passeports à Ottawa."),
    ("The minister cuts a ribbon at the Gatineau office.", "La ministre coupe un ruban au bureau de Gatineau."),
    ("A bar chart: wait times fell from 20 to 5 days.", "Un graphique : les délais passent de 20 à 5 jours."),
    ("Staff greet the first visitors at the counter.", "Le personnel accueille les premiers visiteurs au comptoir."),
]


def attach_images(demo, post, n: int = 4, *, focus: tuple[float, float] = (0.0, 0.0)) -> list:
    """`n` shared images on `post`, each with its English and French alternative text."""
    out = []
    for i in range(n):
        data = png_bytes(64 + 8 * i, 48, (30 * i, 110, 200)) if i % 2 == 0 else jpeg_bytes(80, 60 + 4 * i, seed=i)
        medium = make_medium(demo, data, "image/png" if i % 2 == 0 else "image/jpeg")
        en, fr = ALTS[i % len(ALTS)]
        out.append(attach(post, medium, position=i, alt_en=en, alt_fr=fr, focus=focus))
    return out


@pytest.fixture
def media_root(settings, tmp_path):
    """Stored media in a folder of the test's own (default_storage follows MEDIA_ROOT)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def bluesky_channels_on_pds(demo, atproto_stack, make_account, monkeypatch, *, tag: str) -> dict:
    """Point dpe-en and dpe-fr at two new accounts on the AT Protocol stack's PDS (their app
    passwords in `PARLEY_SECRET_TEST_<tag>_BSKY_<LANG>`); returns the accounts by language."""
    from workflows.channels import bluesky

    accounts = {}
    for slug, lang in (("dpe-en", "en"), ("dpe-fr", "fr")):
        account = make_account(f"dpe{lang}")
        var = f"PARLEY_SECRET_TEST_{tag}_BSKY_{lang.upper()}"
        monkeypatch.setenv(var, account.password)
        channel = demo.channel(slug)
        channel.adapter, channel.handle = "bluesky", account.handle
        channel.adapter_config = {"base_url": atproto_stack.pds, "handle": account.handle, "password_env": var}
        channel.save(update_fields=["adapter", "handle", "adapter_config"])
        accounts[lang] = account
    bluesky.forget_sessions()
    return accounts
