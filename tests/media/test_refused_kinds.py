"""Issue 22's acceptance, second half: "Every refused upload kind above has a test". What
test_intake.py and test_api.py did not cover yet:

- images Pillow can read that are not listed (BMP, TIFF, ICO, JPEG 2000, AVIF, PPM, TGA, PCX,
  DDS, SGI, QOI): refused by their content whatever their name and declared type, the refusal
  naming what was found (never an accepted type: puremagic's table calls JPEG 2000
  "image/jpeg"), in English and in French, nothing stored;
- a truncated GIF and a truncated WebP: corrupted (JPEG, PNG and MP4 are in test_intake.py);
- EXIF with a GPS position, and XMP, in a PNG and a WebP: stripped by the re-encoding as in a
  JPEG (test_intake.py has the JPEG and PNG text chunks)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.api.conftest import assert_problem
from workflows.media.intake import ACCEPTED
from workflows.services.media import medium_upload

from . import samples
from .test_api import api, post_file  # noqa: F401 - `api` is a fixture
from .test_intake import refused, upload

pytestmark = pytest.mark.django_db


def pillow(fmt: str, **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format=fmt, **save)
    return out.getvalue()


#: format → what the refusal names as found ("" where nothing recognises it).
NOT_LISTED = {
    "BMP": "image/x-ms-bmp",
    "TIFF": "image/tiff",
    "ICO": "image/x-icon",
    "JPEG2000": "image/jp2",
    "AVIF": "image/avif",
    "PPM": "image/x-portable-pixmap",
    "TGA": "image/tga",
    "PCX": "image/x-pcx",
    "DDS": "image/x-dds",
    "SGI": "image/x-rgb",
    "QOI": "",
}


@pytest.mark.parametrize("fmt", sorted(NOT_LISTED))
@pytest.mark.parametrize(("name", "declared"), [("chart.png", "image/png"), ("photo.jpg", "image/jpeg")])
def test_an_image_type_not_listed_is_refused_whatever_its_name(stored, demo, fmt, name, declared):
    data = pillow(fmt)
    assert Image.open(io.BytesIO(data)).format  # Pillow reads it: only the list keeps it out
    error = refused(stored, demo, name, data, declared)
    found = NOT_LISTED[fmt]
    if found:
        assert (error.code, error.params) == ("media.upload.unsupported", {"found": found})
        assert found not in ACCEPTED
    else:
        assert error.code == "media.upload.unrecognised"


def test_a_type_not_listed_is_refused_in_the_readers_language(api, demo, stored):  # noqa: F811 - the fixture
    before = stored.snapshot()
    for lang, words in (("en", "This kind of file (image/tiff) is not accepted. Upload a JPEG, PNG"),
                        ("fr", "Ce type de fichier (image/tiff) n’est pas accepté.")):
        problem = assert_problem(post_file(api(demo.dana, lang=lang), "scan.jpg", pillow("TIFF")), 422)
        assert problem["code"] == "media.upload.unsupported"
        assert problem["detail"].startswith(words), problem["detail"]
    # JPEG 2000 is not "image/jpeg" to the reader.
    problem = assert_problem(post_file(api(demo.dana), "photo.jpg", pillow("JPEG2000")), 422)
    assert "(image/jp2)" in problem["detail"], problem["detail"]
    stored.nothing_new_since(before)


@pytest.mark.parametrize(("fmt", "declared", "label"), [("GIF", "image/gif", "GIF"), ("WEBP", "image/webp", "WebP")])
def test_a_truncated_gif_or_webp_is_corrupted(stored, demo, fmt, declared, label):
    whole = samples.image(fmt)
    for cut in (whole[:-30], whole[: len(whole) // 2]):
        error = refused(stored, demo, f"cut.{fmt.lower()}", cut, declared)
        assert (error.code, error.params) == ("media.upload.corrupted", {"format": label})


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (45.0, 25.0, 17.0), 3: "W", 4: (75.0, 41.0, 50.0)}  # GPSInfo: Ottawa
    return exif


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="45,25.28N"/>'
       b"</rdf:RDF></x:xmpmeta>")


@pytest.mark.parametrize(("fmt", "declared"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_exif_gps_and_xmp_are_stripped_from_png_and_webp(stored, demo, fmt, declared):
    if fmt == "PNG":  # XMP in a PNG is an iTXt chunk
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        data = samples.image(fmt, size=(64, 48), exif=_gps_exif(), pnginfo=info)
    else:
        data = samples.image(fmt, size=(64, 48), exif=_gps_exif(), xmp=XMP)
    sent = Image.open(io.BytesIO(data))
    assert sent.getexif().get_ifd(0x8825) and b"PhoneMaker" in data and b"GPSLatitude" in data  # it does carry them
    medium = medium_upload(by=demo.dana, upload=upload(f"IMG_0001.{fmt.lower()}", data, declared))
    assert medium.content_type == declared
    with medium.file.open("rb") as f:
        raw = f.read()
    assert b"PhoneMaker" not in raw and b"GPSLatitude" not in raw and b"xmpmeta" not in raw
    assert b"eXIf" not in raw and b"iTXt" not in raw and b"EXIF" not in raw and b"XMP " not in raw
    kept = Image.open(io.BytesIO(raw))
    assert not kept.getexif() and "exif" not in kept.info and "xmp" not in kept.info
    with medium.thumbnail.open("rb") as f:
        thumb = f.read()
    assert b"PhoneMaker" not in thumb and b"Exif" not in thumb
