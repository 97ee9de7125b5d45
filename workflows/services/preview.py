"""Read-only previews for the web UI: guideline checks as you type, and which actions a viewer
may try on a post. Nothing here writes; the real services stay the judge of every action."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from accounts.models import User

from .. import guidelines, links
from ..limits import TEXT_MAX
from ..models import Channel, InboundMessage, Lane, Post
from . import actions
from .lanes import escalation_of, missing_languages, route_lane_or_none
from .media import Attachment


@dataclass
class Preview:
    results: list[guidelines.CheckResult]
    #: {language: (characters, limit or None)}
    lengths: dict[str, tuple[int, int | None]]
    escalation: guidelines.Escalation | None = None
    lane: Lane | None = None
    #: {language: the links a platform will make clickable in that text}, from the extractor the
    #: link-domains rule checks with (workflows.links): what the author sees is what was checked
    links: dict[str, list[str]] = field(default_factory=dict)
    #: {medium index: {language: (characters, the strictest channel's limit or None)}}: the live
    #: counters beside each alternative text (issue 22), counted as the alt_text rule counts
    alt_lengths: dict[int, dict[str, tuple[int, int | None]]] = field(default_factory=dict)

    @property
    def blocking(self) -> list[guidelines.CheckResult]:
        return guidelines.blocking(self.results)


def preview_checks(
    *,
    user: User,
    kind: str,
    texts: dict[str, str],
    channels: list[str] | None = None,
    in_reply_to: int | None = None,
    lane: str | None = None,
    rules_acknowledged: bool = False,
    media: Sequence[Attachment] = (),
) -> Preview:
    """Run the lane's guideline checks (and escalation rules) on unsaved text and media (their
    alternative texts and captions, services.media.Attachment), as post_create and post_submit would.
    Pure: writes nothing. Unknown channels or messages are ignored."""
    from .engine import run_checks, text_length_for

    org_id: int = getattr(user, "organisation_id", None) or 0
    texts = {k: (v or "").replace("\r\n", "\n").strip() for k, v in texts.items() if k in ("en", "fr")}
    inbound = None
    if in_reply_to:
        inbound = (
            InboundMessage.objects.filter(id=in_reply_to, organisation_id=org_id)
            .select_related("channel").first()
        )
    slugs = list(channels or [])
    if not slugs and inbound is not None:
        slugs = [inbound.channel.slug]
    chans = list(Channel.objects.filter(slug__in=slugs, organisation_id=org_id, is_active=True))
    chosen = route_lane_or_none(organisation_id=org_id, kind=kind, lane_slug=lane)
    lengths: dict[str, tuple[int, int | None]] = {}
    for lang, body in texts.items():
        # The platform's count (text_length_for: the guideline's), the channel nearest its limit.
        measured = [(text_length_for(c)(body), c.char_limit) for c in chans if lang in c.languages]
        lengths[lang] = max(measured, key=lambda m: m[0] - m[1]) if measured else (len(body), None)
    alt_lengths = _alt_lengths(media, chans)
    if chosen is None or any(len(body) > TEXT_MAX for body in texts.values()):
        # Over the hard cap no rule runs: the submit will be refused with text_too_long anyway.
        return Preview(results=[], lengths=lengths, alt_lengths=alt_lengths)
    found = {lang: [link.text for link in links.find_links(body) if link.clickable] for lang, body in texts.items()}
    escalation = escalation_of(chosen, texts=texts)
    draft = Post(lane=chosen, kind=kind, in_reply_to=inbound, rules_acknowledged=bool(rules_acknowledged))
    results = run_checks(draft, texts={k: v for k, v in texts.items() if v}, channels=chans, lane=chosen,
                         media=list(media))
    return Preview(results=results, lengths=lengths, escalation=escalation, lane=chosen,
                   links={lang: found_links for lang, found_links in found.items() if found_links},
                   alt_lengths=alt_lengths)


def _alt_lengths(media: Sequence[Attachment], chans: list[Channel],
                 ) -> dict[int, dict[str, tuple[int, int | None]]]:
    """Each medium's alternative text length per language, against the strictest limit of the
    channels publishing that language (guidelines.media_limits_for: their platform's)."""
    out: dict[int, dict[str, tuple[int, int | None]]] = {}
    for index, medium in enumerate(media):
        counts: dict[str, tuple[int, int | None]] = {}
        for lang, alt in medium.alt_text.items():
            if not medium.shown_in(lang):
                continue
            alt = (alt or "").strip()
            measured = []
            for c in chans:
                limits = guidelines.media_limits_for(adapter=c.adapter, platform=c.platform)
                if lang in c.languages and limits is not None and limits.alt_limit(medium.kind) is not None:
                    measured.append((limits.alt_length(alt), limits.alt_limit(medium.kind)))
            counts[lang] = max(measured, key=lambda m: m[0] - (m[1] or 0)) if measured else (len(alt), None)
        out[index] = counts
    return out


@dataclass
class Actions:
    """Which forms the post page shows: each field is the answer of the action's own check
    (workflows/services/actions.py), never a copy of its rule. The service still decides when
    the form is posted (the same check, under the row lock)."""

    edit: bool = False
    submit: bool = False
    #: request changes or reject (the review form)
    review: bool = False
    approve: bool = False
    translate: bool = False
    withdraw: bool = False
    urgent: bool = False
    retry: bool = False
    #: delete what the post published (actions.RETRACT)
    retract: bool = False
    #: settle publications whose outcome is unknown (publication_resolve); shown by the publications
    resolve: bool = False
    missing_languages: list[str] = field(default_factory=list)
    #: why approving is refused (a code of workflows.messages), "" when it is not
    approve_refusal: str = ""

    @property
    def any(self) -> bool:
        return any((self.edit, self.submit, self.review, self.translate, self.withdraw, self.urgent, self.retry,
                    self.retract))


def post_actions_for(*, post: Post, user: User) -> Actions:
    """Ask each action's check (actions.py) which forms to show `user` on `post`."""
    acts = Actions(
        edit=actions.EDIT.allowed(user, post),
        submit=actions.SUBMIT.allowed(user, post),
        review=actions.REQUEST_CHANGES.allowed(user, post),
        translate=actions.TRANSLATE.allowed(user, post),
        withdraw=actions.WITHDRAW.allowed(user, post),
        urgent=actions.PUBLISH_URGENT.allowed(user, post),
        retry=actions.RETRY.allowed(user, post),
        retract=actions.RETRACT.allowed(user, post),
        resolve=bool(actions.resolvable(user=user, post=post)),
    )
    if acts.review:
        refusal = actions.APPROVE.check(user, post)
        acts.approve = refusal is None
        acts.approve_refusal = refusal.code if refusal is not None else ""
    if acts.translate:
        acts.missing_languages = missing_languages(post, (t.language for t in post.texts.all()))
    return acts
