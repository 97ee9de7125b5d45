"""Channel setup that tells the truth: "test connection" asks the platform who the channel
posts as (adapter.verify) and its real limits, and reports a classified error otherwise."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User

from ..channels import (
    AmbiguousError,
    AuthError,
    ConfigError,
    NotSentError,
    PermanentError,
    RateLimited,
    TransientError,
    get_adapter,
    validate_config,
)
from ..channels.base import Limits
from ..constants import ChannelPerm
from ..exceptions import ChannelUnusable, NotFound
from ..messages import Message
from ..models import Channel
from ..permissions import perms_by_channel, sees_organisation
from ..selectors import channels_draftable
from .common import ensure_perm_on_channels

# --- may a channel publish at all? (issue 21) ----------------------------------------------

#: Why a channel cannot publish: catalogue codes (workflows/messages.py).
UNUSABLE_INACTIVE = "channel.unusable_inactive"
UNUSABLE_CONFIG = "channel.unusable_config"


@dataclass(frozen=True)
class Usability:
    """Whether a channel can publish now, and if not why: `reason` is a catalogue code and
    `problems` the adapter's own words per configuration key (for those who can fix it)."""

    usable: bool
    reason: str = ""
    problems: dict[str, str] = field(default_factory=dict)


def channel_usability(channel: Channel) -> Usability:
    """The one definition of a usable channel: switched on, and its configuration passes its
    adapter's schema (`channels.validate_config`, what preflight checks first; URLs by their
    form, without waiting on DNS: this runs on pages and on every submit). Credentials,
    addresses and reachability are the platform's to answer (test connection, preflight)."""
    if not channel.is_active:
        return Usability(usable=False, reason=UNUSABLE_INACTIVE)
    problems = validate_config(channel.adapter, channel.adapter_config, offline=True)
    if problems:
        return Usability(usable=False, reason=UNUSABLE_CONFIG, problems=problems)
    return Usability(usable=True)


def channels_usability(channels: Iterable[Channel]) -> dict[int, Usability]:
    """channel_usability for each channel, by id."""
    return {c.id: channel_usability(c) for c in channels}


def ensure_channels_usable(channels: Iterable[Channel]) -> None:
    """Refuse a post to channels that cannot publish, naming each by its display name
    (ChannelUnusable, 422): at draft and at submit, never after the approval chain."""
    unusable = [c for c in channels if not channel_usability(c).usable]
    if unusable:
        names = [c.name or c.handle for c in unusable]
        params = {"channels": names}
        raise ChannelUnusable(code="channel.unusable", params=params,
                              errors={"channels": [Message("channel.unusable", params)]})


@dataclass(frozen=True)
class ChannelOption:
    """A channel someone may draft on, whether it can publish, and whether they may fix it
    (the manage permission): only they are shown the configuration's problems."""

    channel: Channel
    usability: Usability
    may_fix: bool


def channels_draft_options(*, user: User) -> list[ChannelOption]:
    """The channels `user` may draft on (by slug), each with its usability: the new-post form
    offers and pre-selects the usable ones and lists the others as unavailable, with why."""
    chans = list(channels_draftable(user=user))
    perms = perms_by_channel(user=user, channel_ids=[c.id for c in chans])
    return [ChannelOption(channel=c, usability=channel_usability(c), may_fix=ChannelPerm.MANAGE in perms[c.id])
            for c in chans]


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, a sentence for a person) for an adapter error, by type."""
    if isinstance(exc, AuthError):
        return "credentials", _("The platform refused the credentials: check the token or password "
                                "in the environment variable the channel names.")
    if isinstance(exc, ConfigError):
        return "config", _("The channel's configuration is wrong.")
    if isinstance(exc, NotSentError):
        return "unreachable", _("The platform could not be reached (nothing was sent).")
    if isinstance(exc, RateLimited):
        return "rate_limited", _("The platform asked us to slow down; try again later.")
    if isinstance(exc, TransientError | AmbiguousError):
        return "platform_error", _("The platform answered with an error; try again later.")
    if isinstance(exc, PermanentError):
        return "refused", _("The platform refused the request.")
    return "error", _("Unexpected error.")


def channel_test_connection(*, channel_id: int, by: User) -> dict:
    """Verify a channel's credentials and reachability. Needs the manage permission on it.
    Returns {"ok": True, "account": {...}, "limits": {...}|None, "notes": [{"code", "params"}]}
    (a note says, e.g., that the limits were assumed) or {"ok": False, "kind",
    "message", "detail"}. Sends nothing that could be published. When the platform tells its
    limit, the channel's `char_limit` (used by the guideline checks while drafting) is set from
    it: limits come from the platform, not a hand-set default."""
    channel = Channel.objects.filter(id=channel_id).first()
    if channel is None or not sees_organisation(by, channel.organisation_id):
        raise NotFound(code="channel.unknown")
    ensure_perm_on_channels(user=by, channel_ids=[channel.id], codename=ChannelPerm.MANAGE)
    try:
        adapter = get_adapter(channel)
        account = adapter.verify()
        limits = adapter.limits()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, classified
        kind, message = classify(exc)
        return {"ok": False, "kind": kind, "message": message, "detail": str(exc)[:500]}
    channel_limits_record(channel_id=channel.id, limits=limits)
    notes = []
    if limits is not None and limits.assumed:
        # The platform did not tell its limits: say which were assumed (asked again later).
        notes.append({"code": "platform.limits_assumed",
                      "params": {"limit": limits.max_length, "url_length": limits.url_length or 0}})
    return {"ok": True, "account": asdict(account), "limits": asdict(limits) if limits else None, "notes": notes}


def channel_limits_record(*, channel_id: int, limits: Limits | None) -> bool:
    """Set the channel's `char_limit` (what the guideline checks measure drafts against) to the
    platform's real limit, and `counts_code_points` to what its server counts, when the
    platform told its limit (assumed defaults are not recorded).
    Called wherever Parley learns it: test connection, every preflight, an admin save. Returns
    True when it changed."""
    if limits is None or limits.max_length <= 0 or limits.assumed:
        return False
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(id=channel_id).first()
        if channel is None or (channel.char_limit, channel.counts_code_points) == (
                limits.max_length, limits.counts_code_points):
            return False
        channel.char_limit = limits.max_length
        channel.counts_code_points = limits.counts_code_points  # what the server counts (Takahē: code points)
        # A save, not an UPDATE: the security chain records the change (`channel.changed`, the
        # limit before and after), as it does for every other change to a channel.
        channel.save(update_fields=["char_limit", "counts_code_points"])
    return True


def channel_limits_refresh(*, channel_id: int) -> bool:
    """Ask the platform for its limits now and record them (an admin save). Never raises: an
    unreachable platform leaves the channel as it is (the next preflight records them)."""
    channel = Channel.objects.filter(id=channel_id).first()
    if channel is None:
        return False
    try:
        limits = get_adapter(channel).limits()
    except Exception:  # noqa: BLE001 - not reachable now: nothing to learn
        return False
    return channel_limits_record(channel_id=channel_id, limits=limits)
