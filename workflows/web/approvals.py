"""Reading the approval state (issue 11): the tracker (every step, its team, who approved on which
text version, what is next and when it is due), what an edit will void before it is saved, and
what it voided after. Reads only; the services decide."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from ..constants import PostState, Verdict
from ..services.engine import LiveApprovals, lane_steps
from ..services.four_eyes import counted_languages
from ..services.lanes import required_languages
from .names import person


def lang_label(code: str) -> str:
    """A language's name inside a sentence ("anglais" in French, lower case)."""
    return {"en": pgettext("language in a sentence", "English"),
            "fr": pgettext("language in a sentence", "French")}.get(code, code)


def text_label(code: str) -> str:
    return {"en": _("the English text"), "fr": _("the French text")}.get(code, code)


@dataclass
class TrackerStep:
    number: int
    step: object
    status: str  # done | current | waiting | skipped
    approvals: list = field(default_factory=list)  # live approve decisions
    due_at: datetime | None = None
    #: Languages its approvers saw that no approval there counts for yet (LiveApprovals.waiting_for).
    waiting_for: list = field(default_factory=list)
    #: An outside approval waits for a staff member's confirmation (LiveApprovals.awaiting_staff).
    awaiting_staff: bool = False

    @property
    def waiting_label(self) -> str:
        parts = []
        if self.waiting_for:
            parts.append(_("Still waiting for an approval of: %(languages)s.") % {
                "languages": ", ".join(lang_label(code) for code in self.waiting_for)})
        if self.awaiting_staff:
            parts.append(_("An approval from outside waits for a staff member who did not write the text "
                           "to confirm it."))
        return " ".join(parts)

    @property
    def team(self):
        return self.step.team


def _versions(decision, step) -> str:
    """"English v2, French v1": the text versions the approval counts for, at every step (an
    outsider's link may cover one language only; a translator who wrote the French approves the
    English they translated from, not their own French: issue 21)."""
    versions = decision.text_versions
    counts_for = counted_languages(languages=decision.languages, text_versions=versions)
    versions = {lang: v for lang, v in versions.items() if lang in counts_for}
    parts = [_("%(language)s v%(version)s") % {"language": lang_label(lang), "version": v}
             for lang, v in sorted(versions.items(), key=lambda kv: (kv[0] != "en", kv[0]))]
    return ", ".join(parts)


def approval_tracker(post, *, due_at=None) -> dict | None:
    """Every step of the post's lane with its state, or None when the lane has no step."""
    steps = lane_steps(post.lane)
    if not steps:
        return None
    live = [d for d in post.decisions.all() if d.verdict == Verdict.APPROVE and d.invalidated_at is None]
    met = LiveApprovals()  # the step engine's own rule for "this step is met"
    for d in live:
        met.add(step_id=d.step_id, reviewer_id=d.reviewer_id, text_versions=d.text_versions, languages=d.languages)
    rows = []
    current_id = post.current_step_id if post.state == PostState.IN_REVIEW else None
    finished = post.state in (PostState.APPROVED, PostState.SCHEDULED, PostState.PUBLISHING,
                              PostState.PUBLISHED, PostState.FAILED)
    for n, step in enumerate(steps, start=1):
        approvals = [d for d in live if d.step_id == step.id]
        for d in approvals:
            d.versions_label = _versions(d, step)
        if step.id == current_id:
            status = "current"
        elif met.met(step):
            status = "done"
        elif finished and post.urgent:
            status = "skipped"
        else:
            status = "waiting"
        rows.append(TrackerStep(number=n, step=step, status=status, approvals=approvals,
                                due_at=due_at if status == "current" else None,
                                waiting_for=met.waiting_for(step) if status != "done" else [],
                                awaiting_staff=status != "done" and met.awaiting_staff(step)))
    current = next((r for r in rows if r.status == "current"), None)
    upcoming = None
    if current is not None:
        upcoming = next((r for r in rows[current.number:] if r.status != "done"), None)
    return {"steps": rows, "current": current, "next": upcoming, "total": len(rows)}


def void_preview(post) -> list[dict]:
    """Per language the post has: the live approvals a change to it voids, and the steps that
    then run again (those whose quorum would no longer be met). Empty when nothing is voided."""
    live = [d for d in post.decisions.all() if d.verdict == Verdict.APPROVE and d.invalidated_at is None]
    if not live:
        return []
    steps = lane_steps(post.lane)
    languages = sorted({t.language for t in post.texts.all()} | set(required_languages(post)),
                       key=lambda code: (code != "en", code))
    out = []
    for lang in languages:
        voided = [d for d in live if lang in d.text_versions]
        if not voided:
            continue
        remaining = [d for d in live if d not in voided]
        rerun = [s for s in steps if len([d for d in remaining if d.step_id == s.id]) < s.quorum
                 and any(d.step_id == s.id for d in voided)]
        out.append({"language": lang, "language_name": text_label(lang), "approvals": voided, "rerun": rerun})
    return out


def voided_summary(post, *, decision_ids: list[int]) -> str:
    """After a save: which approvals it voided and where the post is now, in one sentence."""
    if not decision_ids:
        return ""
    ids = set(decision_ids)
    voided = [d for d in post.decisions.all() if d.id in ids]
    who = ", ".join(f"{person(d.reviewer)} ({d.step.name})" for d in voided)
    text = ngettext("This change voided %(n)s approval: %(who)s.", "This change voided %(n)s approvals: %(who)s.",
                    len(voided)) % {"n": len(voided), "who": who}
    if post.state == PostState.IN_REVIEW and post.current_step is not None:
        text += " " + _("The post went back to the step “%(step)s” (%(team)s).") % {
            "step": post.current_step.name, "team": post.current_step.team.name}
    else:
        text += " " + _("Submit it again: those steps run again.")
    return text


def latest_change_request(post):
    """The reviewer's requested changes the author is answering (state changes_requested)."""
    if post.state != PostState.CHANGES_REQUESTED:
        return None
    asks = [d for d in post.decisions.all() if d.verdict == Verdict.REQUEST_CHANGES]
    return asks[-1] if asks else None
