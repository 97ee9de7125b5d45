"""Reach every state through the real services (STYLE.md: never write `state=` directly)."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from workflows.constants import PostState, PublicationStatus
from workflows.models import Post, Publication
from workflows.services import posts, publishing, reviews, translations

EN = "Our office reopens on Monday at 9:00. Details: https://www.canada.ca/en.html"
FR = "Notre bureau rouvre lundi à 9 h. Détails : https://www.canada.ca/fr.html"


def official_draft(demo, texts=None, **kw) -> Post:
    return posts.post_create(
        author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post", texts=texts or {"en": EN},
        rules_acknowledged=True, **kw,
    )


def reply_draft(demo, text="Thanks for asking: the office reopens on Monday.") -> Post:
    return posts.post_create(author=demo.dana, channels=["dpe-en"], kind="reply", texts={"en": text}, rules_acknowledged=True)


def at_review(demo, **kw) -> Post:
    p = official_draft(demo, **kw)
    return posts.post_submit(post_id=p.id, by=demo.dana)


def at_translation(demo, **kw) -> Post:
    p = at_review(demo, **kw)
    return reviews.post_approve(post_id=p.id, by=demo.rami)


def at_sign_off(demo, **kw) -> Post:
    p = at_translation(demo, **kw)
    p = translations.translation_provide(post_id=p.id, by=demo.tess, language="fr", text=FR)
    return reviews.post_approve(post_id=p.id, by=demo.tess)


def approved(demo, **kw) -> Post:
    p = at_sign_off(demo, **kw)
    return reviews.post_approve(post_id=p.id, by=demo.cora)


def changes_requested(demo, **kw) -> Post:
    p = at_review(demo, **kw)
    return reviews.post_request_changes(post_id=p.id, by=demo.rami, comment="Shorter, please.")


def rejected(demo, **kw) -> Post:
    p = at_review(demo, **kw)
    return reviews.post_reject(post_id=p.id, by=demo.rami, comment="Not for us to say.")


def withdrawn(demo, **kw) -> Post:
    p = official_draft(demo, **kw)
    return posts.post_withdraw(post_id=p.id, by=demo.dana)


def scheduled(demo, **kw) -> Post:
    p = approved(demo, scheduled_at=timezone.now() + timedelta(hours=2), **kw)
    publishing.post_publish_start(post_id=p.id)
    return Post.objects.get(id=p.id)


def publishing_(demo, **kw) -> Post:
    p = approved(demo, **kw)
    publishing.post_publish_start(post_id=p.id)
    return Post.objects.get(id=p.id)


def published(demo, **kw) -> Post:
    p = publishing_(demo, **kw)
    # The platform's acknowledgement of each send (the delivery side is exercised in tests/celery).
    Publication.objects.filter(post=p).update(status=PublicationStatus.SENT, external_id="x", url="https://example.test/1")
    publishing.post_mark_published(post_id=p.id)
    return Post.objects.get(id=p.id)


def failed(demo, **kw) -> Post:
    p = publishing_(demo, **kw)
    publishing.post_mark_failed(post_id=p.id, error="platform said no")
    return Post.objects.get(id=p.id)


def retracted(demo, **kw) -> Post:
    p = published(demo, **kw)
    return publishing.post_retract(post_id=p.id, by=demo.cora)


BUILDERS = {
    PostState.DRAFT: official_draft,
    PostState.IN_REVIEW: at_review,
    PostState.CHANGES_REQUESTED: changes_requested,
    PostState.APPROVED: approved,
    PostState.SCHEDULED: scheduled,
    PostState.PUBLISHING: publishing_,
    PostState.PUBLISHED: published,
    PostState.FAILED: failed,
    PostState.REJECTED: rejected,
    PostState.WITHDRAWN: withdrawn,
    PostState.RETRACTED: retracted,
}


def in_state(demo, state: PostState, **kw) -> Post:
    post = BUILDERS[state](demo, **kw)
    assert post.state == state, (post.state, state)
    return post


# --- media (issue 22) --------------------------------------------------------------------------

def png_bytes(width: int = 4, height: int = 3, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real PNG (Pillow)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def medium(demo=None, *, user=None, kind: str = "image", name: str = "infographic.png", data: bytes | None = None):
    """A Medium row as the upload service leaves it (already safe), its file saved through
    Django's default storage. An image is a real PNG; a "video" is a few bytes named .mp4 (no
    test here decodes it)."""
    import hashlib

    from django.core.files.base import ContentFile

    from workflows.models import Medium

    owner = user or demo.dana
    if kind == "video":
        data = data or b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
        content_type, width, height, duration = "video/mp4", 640, 360, 12.5
    else:
        data = data or png_bytes()
        content_type, width, height, duration = "image/png", 4, 3, None
    m = Medium(organisation_id=owner.organisation_id, uploaded_by=owner, kind=kind, content_type=content_type,
               original_name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
               width=width, height=height, duration=duration)
    m.file.save(name, ContentFile(data), save=False)
    m.save()
    return m
