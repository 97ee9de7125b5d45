"""Reach states through the real services (never by writing `state=`)."""
from __future__ import annotations

from workflows.services.posts import post_create, post_submit
from workflows.services.reviews import post_approve
from workflows.services.translations import translation_provide


def reply(demo, text: str = "Thank you for asking: the office opens at 9:00.", **kwargs):
    """A conversation reply by dana to dpe-en, submitted: approved and publishing at once."""
    post = post_create(author=demo.dana, channels=["dpe-en"], kind="reply", texts={"en": text},
                       rules_acknowledged=True, **kwargs)
    return post_submit(post_id=post.id, by=demo.dana)


def official(demo, en: str = "The office will be closed on Monday.", fr: str = "Le bureau sera fermé lundi.",
             **kwargs):
    """An official post to dpe-en and dpe-fr, through review, translation and sign-off."""
    post = post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post", texts={"en": en},
                       rules_acknowledged=True, **kwargs)
    post_submit(post_id=post.id, by=demo.dana)
    post_approve(post_id=post.id, by=demo.rami, comment="Good to go.")
    translation_provide(post_id=post.id, by=demo.tess, language="fr", text=fr)
    post_approve(post_id=post.id, by=demo.tess)
    return post_approve(post_id=post.id, by=demo.cora)
