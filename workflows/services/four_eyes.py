"""Four eyes by contribution: whoever wrote or changed a language's current text never approves
that language, at any step.

Contributions are read from the post's revisions (each snapshot records who made it; a language
whose text, or whose media — alternative text, captions, the media themselves: services.media
`language_view` — differ from the previous snapshot was written or changed by that person) and
from each text's last writer. The author is a contributor of every language they wrote.

The one rule, `approval_scope`, is part of actions.APPROVE: post_approve runs it under the row
lock, the post page's Approve button and the API's `actions` ask it: never copied.

* At a translation step, approving means "the translation is complete": a translator may
  complete the step after writing a translation, but that approval never counts as four-eyes
  approval of the languages they wrote (`Scope.languages` leaves them out; the audit event
  records the languages approved). The decision is still bound to every text it saw, so any
  later edit sends the post back to the translation step. Their own words are approved by
  someone else at a later step: a lane with a translation step ends with a review or sign-off
  step (the demo lanes do; `approved_by_others` states the guarantee and the state-machine
  test checks it).
* At any other step, a contributor to any language present is refused (code
  `four_eyes.contributed`), and the author always is (`self_approval`).
* Under an outside link (grants.py) an approval counts only for the link's languages. The
  decision records what it counts for (Decision.languages); a review or sign-off step is met
  only when every language its approvers saw is counted for (engine.LiveApprovals.met).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from accounts.models import User

from ..constants import StepKind
from ..exceptions import NotPermitted
from ..models import LaneStep, Post, PostText
from .grants import granted_languages
from .media import LANGUAGES, language_view

#: A post's revisions in order: (the texts of the snapshot, who made it, its media snapshot).
Revisions = list[tuple[dict[str, str], int, list]]


def contributors(post: Post, *, texts: list[PostText] | None = None,
                 revisions: Revisions | None = None) -> dict[str, set[int]]:
    """language → ids of everyone who wrote or changed that language's text. `texts`: the
    post's PostText rows when the caller has them already; `revisions`: its revisions, when
    the caller read them already (approve reads them with the row lock: engine.TransitionContext)."""
    out: dict[str, set[int]] = defaultdict(set)
    previous: dict[str, str] = {}
    previous_media: list = []
    rows = revisions
    if rows is None:
        rows = list(post.revisions.order_by("number").values_list("texts", "created_by_id", "media"))
    for snapshot, by, media in rows:
        for lang, body in (snapshot or {}).items():
            if previous.get(lang) != body:
                out[lang].add(by)
        for lang in LANGUAGES:  # a language's media are part of its text
            if language_view(previous_media, lang) != language_view(media, lang):
                out[lang].add(by)
        previous, previous_media = snapshot or {}, media or []
    for t in texts if texts is not None else post.texts.all():
        out[t.language].add(t.updated_by_id)
    return out


@dataclass(frozen=True)
class Scope:
    """What `user`'s approval at `step` would cover, or why they may not approve."""

    languages: list[str] = field(default_factory=list)
    refusal: str = ""
    params: dict = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return not self.refusal


def approval_scope(*, post: Post, user: User, step: LaneStep, texts: list[PostText] | None = None,
                   revisions: Revisions | None = None) -> Scope:
    """The languages `user` may approve at `step` (every language present in `texts`, default
    the post's texts; under an outside link, only the link's languages: grants.py), or the
    refusal (code and parameters)."""
    if user.id == post.author_id:
        return Scope(refusal="self_approval")
    texts = list(post.texts.all()) if texts is None else texts
    present = sorted(t.language for t in texts)
    limited = granted_languages(user=user, post=post, step=step)  # a ContextVar: no query
    if limited is not None:
        # An outsider sees only their link's languages: their approval counts for those only.
        present_in_scope = [lang for lang in present if lang in limited]
    else:
        present_in_scope = present
    wrote = contributors(post, texts=texts, revisions=revisions)
    mine = [lang for lang in present if user.id in wrote.get(lang, ())]
    if not mine:
        return Scope(languages=present_in_scope)
    if step.kind == StepKind.TRANSLATION:
        return Scope(languages=[lang for lang in present_in_scope if lang not in mine])
    return Scope(refusal="four_eyes.contributed", params={"languages": mine})


def counted_languages(*, languages: list[str] | None, text_versions: dict[str, int]) -> set[str]:
    """The languages a recorded approval counts for: those recorded with it (its Scope's
    languages: Decision.languages), or every language it saw when none were recorded (an
    approval from before they were)."""
    return set(text_versions) if languages is None else set(languages)


def ensure_may_approve(*, post: Post, user: User, step: LaneStep, texts: list[PostText] | None = None,
                       revisions: Revisions | None = None) -> list[str]:
    """The languages the approval covers; NotPermitted when the rule refuses it."""
    scope = approval_scope(post=post, user=user, step=step, texts=texts, revisions=revisions)
    if not scope.allowed:
        raise NotPermitted(code=scope.refusal, params=scope.params)
    return scope.languages


def approved_by_others(post: Post) -> dict[str, bool]:
    """language → whether its current text carries a live approval, outside a translation
    step, by someone who did not write or change it. True for every language of a post that
    went through a lane with a final review or sign-off step. An approval counts only for
    the languages recorded with it (an outsider's: their link's)."""
    from ..constants import Verdict
    from ..models import Decision

    wrote = contributors(post)
    versions = {t.language: t.version for t in post.texts.all()}
    out = {lang: False for lang in versions}
    live = (Decision.objects.filter(post=post, verdict=Verdict.APPROVE, invalidated_at__isnull=True)
            .exclude(step__kind=StepKind.TRANSLATION))
    for d in live:
        counts_for = counted_languages(languages=d.languages, text_versions=d.text_versions)
        for lang, version in d.text_versions.items():
            if (lang in counts_for and versions.get(lang) == version
                    and d.reviewer_id not in wrote.get(lang, ())):
                out[lang] = True
    return out
