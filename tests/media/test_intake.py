"""Safe uploads (issue 22): every refused kind of file is refused with its code and leaves
nothing behind (no row, no audit event, no file in storage); what is accepted is stored without
its metadata, its type read from its content."""
from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from mutagen.mp4 import MP4
from PIL import Image

from workflows.exceptions import MediaRefused, NotPermitted
from workflows.models import AuditEvent, Medium
from workflows.services.audit import audit_verify_report
from workflows.services.media import medium_upload

from . import samples

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def refused(stored, demo, name: str, data: bytes, content_type: str = "image/jpeg") -> MediaRefused:
    before = stored.snapshot()
    with pytest.raises(MediaRefused) as caught:
        medium_upload(by=demo.dana, upload=upload(name, data, content_type))
    stored.nothing_new_since(before)
    assert caught.value.status == 422
    assert list(caught.value.errors) == ["file"]
    return caught.value


# --- refused, each kind, nothing stored -------------------------------------------------------

REFUSED = {
    "svg": ("drawing.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "image/svg+xml", "media.upload.svg"),
    "svg named .png": ("drawing.png", b"  <svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                       "image/png", "media.upload.svg"),
    "html renamed .jpg": ("photo.jpg", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
                          "image/jpeg", "media.upload.unsupported"),
    "pdf": ("poster.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "application/pdf",
            "media.upload.unsupported"),
    "zip": ("photos.jpg", samples.zip_bytes(), "image/jpeg", "media.upload.unsupported"),
    "quicktime": ("clip.mp4", samples.mp4(3, brand=b"qt  "), "video/mp4", "media.upload.unsupported"),
    "heic": ("photo.jpg", samples.mp4(3, brand=b"heic"), "image/jpeg", "media.upload.unsupported"),
    "plain text": ("notes.jpg", b"just some words, no image here", "image/jpeg", "media.upload.unrecognised"),
    "empty": ("empty.jpg", b"", "image/jpeg", "media.upload.empty"),
    "truncated jpeg": ("cut.jpg", samples.truncated_jpeg(), "image/jpeg", "media.upload.corrupted"),
    "corrupted png": ("bad.png", samples.corrupted_png(), "image/png", "media.upload.corrupted"),
    "png header only": ("head.png", samples.image("PNG")[:40], "image/png", "media.upload.corrupted"),
    "decompression bomb": ("bomb.png", samples.png_bomb(), "image/png", "media.upload.too_many_pixels"),
    "jpeg + zip": ("holiday.jpg", samples.image("JPEG") + samples.zip_bytes(), "image/jpeg",
                   "media.upload.polyglot"),
    "jpeg + html": ("holiday.jpg", samples.image("JPEG") + b"<html><script>alert(1)</script></html>",
                    "image/jpeg", "media.upload.polyglot"),
    "gif + javascript": ("anim.gif", samples.gif_js_polyglot(), "image/gif", "media.upload.polyglot"),
    "gif with a script comment": ("anim.gif", samples.gif_with_script_comment(), "image/gif",
                                  "media.upload.polyglot"),
    "jpeg with a script in its comment": ("photo.jpg", samples.image("JPEG", comment=b"<script>alert(1)</script>"),
                                          "image/jpeg", "media.upload.polyglot"),
    "png + zip": ("chart.png", samples.image("PNG") + samples.zip_bytes(), "image/png", "media.upload.polyglot"),
    "mp4 + zip": ("clip.mp4", samples.mp4(3, trailing=samples.zip_bytes()), "video/mp4", "media.upload.polyglot"),
    "video too long": ("long.mp4", samples.mp4(141), "video/mp4", "media.upload.too_long"),
    "video too long in the movie header": ("long.mp4", samples.mp4(10, movie_seconds=600), "video/mp4",
                                           "media.upload.too_long"),
    "mp4 without video": ("sound.mp4", samples.mp4(10, video=False), "video/mp4", "media.upload.no_video_track"),
    "truncated mp4": ("cut.mp4", samples.mp4(10)[:-30], "video/mp4", "media.upload.corrupted"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refused_and_nothing_stored(stored, demo, kind):
    name, data, declared, code = REFUSED[kind]
    error = refused(stored, demo, name, data, declared)
    assert error.code == code, (kind, error.code, error.params)


def test_refusal_names_what_it_found(stored, demo):
    assert refused(stored, demo, "a.jpg", b"%PDF-1.4\n%%EOF").params == {"found": "application/pdf"}
    assert refused(stored, demo, "a.jpg", samples.image("JPEG") + samples.zip_bytes()).params == {
        "format": "JPEG", "found": "application/zip"}
    assert refused(stored, demo, "a.mp4", samples.mp4(3, brand=b"qt  ")).params == {"found": "video/quicktime"}


def test_too_many_bytes_per_kind(stored, demo, settings):
    settings.MEDIA_MAX_IMAGE_BYTES = 2000
    big = samples.noisy("PNG", (300, 300))
    assert len(big) > 2000
    error = refused(stored, demo, "big.png", big, "image/png")
    assert error.code == "media.upload.too_large"
    assert error.params["limit"] == 2000 and error.params["size"] == len(big) and error.params["format"] == "PNG"
    settings.MEDIA_MAX_VIDEO_BYTES = 300
    assert refused(stored, demo, "big.mp4", samples.mp4(3), "video/mp4").code == "media.upload.too_large"


def test_too_many_bytes_counted_while_reading_when_the_declared_size_lies(stored, demo, settings):
    """A file-like whose declared size is small: the bytes are counted as they are read."""
    settings.MEDIA_MAX_IMAGE_BYTES = 2000

    class Lying(io.BytesIO):
        size = 10
        name = "small.png"

    before = stored.snapshot()
    with pytest.raises(MediaRefused) as caught:
        medium_upload(by=demo.dana, upload=Lying(samples.noisy("PNG", (300, 300))))
    assert caught.value.code == "media.upload.too_large"
    stored.nothing_new_since(before)


def test_pixel_cap_is_a_setting(stored, demo, settings):
    settings.MEDIA_MAX_PIXELS = 100 * 100
    error = refused(stored, demo, "wide.png", samples.image("PNG", (101, 100)), "image/png")
    assert error.code == "media.upload.too_many_pixels"
    assert medium_upload(by=demo.dana, upload=upload("ok.png", samples.image("PNG", (100, 100)))).width == 100


def test_animation_caps(stored, demo, settings):
    settings.MEDIA_MAX_FRAMES = 2
    error = refused(stored, demo, "anim.gif", samples.animated("GIF", frames=3), "image/gif")
    assert error.code == "media.upload.animation_too_big" and error.params["frames"] == 3
    settings.MEDIA_MAX_FRAMES = 500
    settings.MEDIA_MAX_ANIMATION_PIXELS = 40 * 30 * 2
    assert refused(stored, demo, "anim.webp", samples.animated("WEBP", frames=3),
                   "image/webp").code == "media.upload.animation_too_big"


def test_video_duration_cap_is_a_setting(stored, demo, settings):
    settings.MEDIA_MAX_VIDEO_SECONDS = 4
    error = refused(stored, demo, "clip.mp4", samples.mp4(5), "video/mp4")
    assert error.params["length_s"] == 5 and error.params["limit_s"] == 4


def test_not_permitted_without_the_draft_permission(stored, demo, staff_without_channels):
    before = stored.snapshot()
    for user in (demo.rami, staff_without_channels):  # rami reviews; the other holds nothing
        with pytest.raises(NotPermitted) as caught:
            medium_upload(by=user, upload=upload("ok.jpg", samples.image("JPEG")))
        assert caught.value.code == "media.upload.not_permitted"
    stored.nothing_new_since(before)


def test_a_failure_after_the_files_were_written_removes_them(stored, demo, monkeypatch):
    """The storage has no transaction: a failure while recording the row deletes the files."""
    from workflows.services.media import upload as media

    def broken(**kwargs):
        raise RuntimeError("the audit trail is down")

    monkeypatch.setattr(media, "audit_append", broken)
    before = stored.snapshot()
    with pytest.raises(RuntimeError):
        medium_upload(by=demo.dana, upload=upload("ok.jpg", samples.image("JPEG")))
    stored.nothing_new_since(before)


# --- accepted: the type from the content, metadata gone ----------------------------------------

def test_png_named_jpg_is_stored_as_png(stored, demo, media_root):
    medium = medium_upload(by=demo.dana, upload=upload("chart.jpg", samples.image("PNG"), "image/jpeg"))
    assert (medium.kind, medium.content_type) == ("image", "image/png")
    assert medium.file.name.endswith(".png") and medium.original_name == "chart.jpg"
    assert "chart" not in medium.file.name  # the storage name is random, never the uploader's
    with medium.file.open("rb") as f:
        assert Image.open(f).format == "PNG"


def test_stored_record_and_audit(stored, demo, media_root):
    import hashlib

    medium = medium_upload(by=demo.dana, upload=upload("../../etc/passwd photo.jpg", samples.image("JPEG")))
    with medium.file.open("rb") as f:
        data = f.read()
    assert medium.size == len(data) and medium.sha256 == hashlib.sha256(data).hexdigest()
    assert (medium.width, medium.height, medium.duration) == (640, 480, None)
    assert medium.original_name == "passwd photo.jpg"
    assert medium.organisation_id == demo.dana.organisation_id and medium.uploaded_by_id == demo.dana.id
    with medium.thumbnail.open("rb") as f:
        thumb = Image.open(f)
        assert thumb.format == "JPEG" and max(thumb.size) == 480
    files = stored.snapshot()[2]
    assert len(files) == 2 and all(name.startswith(f"media/{medium.organisation_id}/") for name in files)
    event = AuditEvent.objects.get(chain=f"media:{medium.organisation_id}", verb="medium.uploaded")
    assert event.actor_id == demo.dana.id and event.data["medium"] == medium.id
    assert event.data["sha256"] == medium.sha256
    assert not [f for f in audit_verify_report(chains=[event.chain]).findings]


def _reopen(medium: Medium) -> Image.Image:
    with medium.file.open("rb") as f:
        im = Image.open(io.BytesIO(f.read()))
    im.load()
    return im


def test_exif_gps_and_comment_stripped(stored, demo):
    original = Image.open(io.BytesIO(samples.gps_jpeg()))
    assert original.getexif().get_ifd(0x8825)  # the sample does carry GPS
    assert b"taken at home" in samples.gps_jpeg()
    medium = medium_upload(by=demo.dana, upload=upload("IMG_0001.jpg", samples.gps_jpeg()))
    im = _reopen(medium)
    assert not im.getexif() and "exif" not in im.info and "comment" not in im.info
    with medium.file.open("rb") as f:
        raw = f.read()
    assert b"Exif" not in raw and b"PhoneMaker" not in raw and b"taken at home" not in raw
    with medium.thumbnail.open("rb") as f:
        assert b"Exif" not in f.read()


def test_exif_orientation_applied(stored, demo):
    """Orientation 6 (turn 90° clockwise to view): a 64×32 picture, blue on its left half, is
    stored as 32×64 upright, blue on top, without the orientation tag."""
    medium = medium_upload(by=demo.dana, upload=upload("IMG_0002.jpg", samples.gps_jpeg(orientation=6)))
    im = _reopen(medium).convert("RGB")
    assert im.size == (32, 64) and (medium.width, medium.height) == (32, 64)
    top, bottom = im.getpixel((16, 8)), im.getpixel((16, 56))
    assert top[2] > 200 and top[0] < 60, top  # blue
    assert bottom[0] > 200 and bottom[2] < 60, bottom  # red
    assert 0x0112 not in im.getexif()


def test_png_text_and_icc_dropped_colours_to_srgb(stored, demo):
    from PIL import ImageCms, PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "secret location")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = samples.image("PNG", pnginfo=meta, icc_profile=icc)
    medium = medium_upload(by=demo.dana, upload=upload("chart.png", data, "image/png"))
    im = _reopen(medium)
    assert "icc_profile" not in im.info and not getattr(im, "text", {})
    with medium.file.open("rb") as f:
        raw = f.read()
    assert b"secret location" not in raw and b"iCCP" not in raw and b"tEXt" not in raw


def test_transparent_png_keeps_its_alpha(stored, demo):
    medium = medium_upload(by=demo.dana, upload=upload("logo.png", samples.image("PNG", mode="RGBA"), "image/png"))
    im = _reopen(medium)
    assert im.mode == "RGBA" and im.getpixel((5, 5))[3] == 200


@pytest.mark.parametrize(("fmt", "content_type"), [("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_animation_keeps_its_frames(stored, demo, fmt, content_type):
    medium = medium_upload(by=demo.dana, upload=upload(f"anim.{fmt.lower()}", samples.animated(fmt, frames=4),
                                                        content_type))
    assert medium.content_type == content_type
    im = _reopen(medium)
    assert im.n_frames == 4 and im.size == (40, 30)
    durations = []
    for index in range(4):
        im.seek(index)
        im.load()
        durations.append(im.info.get("duration"))
    assert durations == [100, 110, 120, 130]


def test_webp_and_gif_stills(stored, demo):
    for fmt, content_type in (("WEBP", "image/webp"), ("GIF", "image/gif")):
        medium = medium_upload(by=demo.dana, upload=upload("still", samples.image(fmt), content_type))
        assert medium.content_type == content_type and _reopen(medium).format == fmt


def test_mp4_stored_without_its_tags_and_location(stored, demo):
    data = samples.mp4_with_tags(12)
    assert b"Home video" in data and b"+45.4215" in data
    medium = medium_upload(by=demo.dana, upload=upload("clip.mp4", data, "video/mp4"))
    assert (medium.kind, medium.content_type) == ("video", "video/mp4")
    assert (medium.width, medium.height, medium.duration) == (320, 240, 12.0)
    assert not medium.thumbnail
    with medium.file.open("rb") as f:
        raw = f.read()
    assert b"Home video" not in raw and b"+45.4215" not in raw and b"udta" not in raw
    parsed = MP4(io.BytesIO(raw))
    assert parsed.tags is None and parsed.info.length == 12.0
