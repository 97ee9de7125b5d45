"""Security-relevant changes are audit events in the organisation's `security:<org id>` chain
(`security:global` for users without an organisation): webhook subscriptions, channel
configuration, channel permission grants and revokes, teams and their (group) membership, user
flags and global permissions, API tokens.

These are recorded from model signals on purpose (docs/architecture.md keeps business logic out of
signals; this is not business logic but a witness): the same rows are changed by services, the
admin, django-guardian's object-permission admin and shell sessions, and only the model layer
sees every one of them. Who acted comes from `audit_context` (the web middleware, services and
commands set it). Values are recorded before and after, never a secret: webhook secrets and
token hashes appear only as "changed"; adapter settings whose name looks secret are redacted.
Bulk `QuerySet.update()` / `bulk_create` bypass signals, so the services that change these rows
save instances (see accounts.services.token_revoke)."""
from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from accounts.models import User

from ..models import (
    AuditEvent,
    Channel,
    ChannelGroupObjectPermission,
    ChannelUserObjectPermission,
    WebhookSubscription,
)
from .audit import audit_append, current_actor, current_via

log = logging.getLogger("parley.audit")

REDACTED = "[redacted]"
_SECRETISH = ("secret", "token", "password", "passwd", "key", "credential", "auth")


def _chain(org_id: int | None) -> str:
    return f"security:{org_id if org_id is not None else 'global'}"


def security_record(*, organisation_id: int | None, verb: str, target: dict, before: dict | None = None,
                    after: dict | None = None, actor: User | None = None) -> AuditEvent:
    """Append one security event: who (`actor`, else the current audit context), what
    (`verb`, `target`), and the values before and after the change."""
    actor = actor if actor is not None else current_actor()
    data: dict = {"target": target}
    if before is not None:
        data["before"] = before
    if after is not None:
        data["after"] = after
    via = current_via()
    if via:
        data["via"] = via
    return audit_append(chain=_chain(organisation_id), organisation_id=organisation_id, verb=verb,
                        actor=actor, data=data)


def _diff(before: dict, after: dict) -> tuple[dict, dict]:
    keys = sorted(k for k in after if before.get(k) != after.get(k))
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# --- channels --------------------------------------------------------------------------------

def redact_config(config: Any) -> dict:
    """Adapter settings with anything that looks like a secret value replaced. Names of
    environment variables (`*_env`) are kept: they say where a secret lives, not what it is."""
    if not isinstance(config, dict):
        return {"value": REDACTED}
    out: dict = {}
    for k, v in config.items():
        name = str(k).lower()
        if not name.endswith("_env") and any(word in name for word in _SECRETISH):
            out[k] = REDACTED
        elif isinstance(v, dict):
            out[k] = redact_config(v)
        elif name.endswith("url"):
            out[k] = safe_url(v)
        else:
            out[k] = v
    return _jsonable(out)


def safe_url(url: Any) -> str:
    """A URL as recorded: credentials in it (user:password@, query values) replaced, the host
    and path kept, so the trail says where data goes without holding a secret."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    if not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{REDACTED}@{host}" if (parts.username or parts.password) else parts.netloc
        query = urlencode([(k, REDACTED) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="[]")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return REDACTED


def channel_snapshot(ch: Channel) -> dict:
    return _jsonable({
        "slug": ch.slug, "name": ch.name, "platform": ch.platform, "handle": ch.handle,
        "languages": ch.languages, "adapter": ch.adapter, "adapter_config": redact_config(ch.adapter_config),
        "char_limit": ch.char_limit, "counts_code_points": ch.counts_code_points, "is_active": ch.is_active,
        "organisation": ch.organisation_id,
    })


def _channel_target(ch: Channel) -> dict:
    return {"model": "workflows.channel", "id": ch.pk, "slug": ch.slug}


def _stash_before(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    old = sender.objects.filter(pk=instance.pk).first()
    instance._audit_before = _SNAPSHOTS[sender](old) if old is not None else None


def _channel_saved(sender: Any, instance: Channel, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    after = channel_snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        security_record(organisation_id=instance.organisation_id, verb="channel.created",
                        target=_channel_target(instance), after=after)
        return
    b, a = _diff(before, after)
    if a:
        security_record(organisation_id=instance.organisation_id, verb="channel.changed",
                        target=_channel_target(instance), before=b, after=a)
        if before.get("organisation") != after.get("organisation"):
            # Moving a channel hands it to another organisation: both chains say so.
            security_record(organisation_id=before.get("organisation"), verb="channel.changed",
                            target=_channel_target(instance), before=b, after=a)


def _channel_deleted(sender: Any, instance: Channel, **kwargs: Any) -> None:
    security_record(organisation_id=instance.organisation_id, verb="channel.deleted",
                    target=_channel_target(instance), before=channel_snapshot(instance))


# --- channel object permissions (django-guardian's direct tables) ---------------------------

def _perm_event(instance: Any, verb: str) -> None:
    channel: dict = dict(Channel.objects.filter(pk=instance.content_object_id).values("organisation_id", "slug").first() or {})
    perm = Permission.objects.filter(pk=instance.permission_id).values_list("codename", flat=True).first()
    target = {"model": "workflows.channel", "id": instance.content_object_id, "slug": channel.get("slug"),
              "permission": perm}
    if isinstance(instance, ChannelUserObjectPermission):
        from accounts.models import User

        target["user"] = User.objects.filter(pk=instance.user_id).values_list("username", flat=True).first()
        target["user_id"] = instance.user_id
    else:
        group = Group.objects.filter(pk=instance.group_id).values_list("name", flat=True).first()
        target["group"] = group
        target["group_id"] = instance.group_id
        team = _team_of(instance.group_id)
        if team:
            target["team"] = team["slug"]
    security_record(organisation_id=channel.get("organisation_id"), verb=verb, target=target)


def _perm_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    if created:
        _perm_event(instance, "permission.granted")
    else:
        _perm_event(instance, "permission.changed")


def _perm_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    _perm_event(instance, "permission.revoked")


# --- team / group membership and global permissions -----------------------------------------

def _team_of(group_id: int) -> dict | None:
    from accounts.models import Team

    row = Team.objects.filter(group_id=group_id).values("slug", "organisation_id").first()
    return dict(row) if row else None


def _membership_changed(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any) -> None:
    from accounts.models import User

    if action == "pre_clear":
        # The ids are gone after the clear: remember them now.
        rel = instance.user_set if reverse else instance.groups
        instance._audit_cleared = set(rel.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    ids = getattr(instance, "_audit_cleared", set()) if action == "post_clear" else set(pk_set or ())
    verb = "team.member_added" if action == "post_add" else "team.member_removed"
    pairs = [(instance.pk, gid) for gid in ids] if not reverse else [(uid, instance.pk) for uid in ids]
    users = dict(User.objects.filter(pk__in={u for u, _ in pairs}).values_list("pk", "username"))
    user_orgs = dict(User.objects.filter(pk__in={u for u, _ in pairs}).values_list("pk", "organisation_id"))
    groups = dict(Group.objects.filter(pk__in={g for _, g in pairs}).values_list("pk", "name"))
    for user_id, group_id in sorted(pairs):
        team = _team_of(group_id)
        target = {"model": "auth.group", "group_id": group_id, "group": groups.get(group_id),
                  "user_id": user_id, "user": users.get(user_id)}
        if team:
            target["team"] = team["slug"]
        org = team["organisation_id"] if team else user_orgs.get(user_id)
        security_record(organisation_id=org, verb=verb, target=target)


def _global_perms_changed(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any) -> None:
    """Model-wide permissions given to a user or a group (user.user_permissions, group.permissions)."""
    from accounts.models import User

    if action == "pre_clear":
        if sender is User.user_permissions.through:
            rel = instance.user_set if reverse else instance.user_permissions
        else:
            rel = instance.group_set if reverse else instance.permissions
        instance._audit_cleared = set(rel.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    ids = getattr(instance, "_audit_cleared", set()) if action == "post_clear" else set(pk_set or ())
    verb = "permission.granted" if action == "post_add" else "permission.revoked"
    if not reverse:
        perms = list(Permission.objects.filter(pk__in=ids).select_related("content_type"))
        holders = [instance] * len(perms)
    else:
        perms = [instance] * len(ids)
        holder_model = User if sender is User.user_permissions.through else Group
        holders = list(holder_model.objects.filter(pk__in=ids))
    for perm, holder in zip(perms, holders, strict=True):
        target: dict[str, Any] = {"model": "auth.permission", "permission": f"{perm.content_type.app_label}.{perm.codename}"}
        if isinstance(holder, User):
            target.update(user_id=holder.pk, user=holder.username)
            org = holder.organisation_id
        else:
            target.update(group_id=holder.pk, group=holder.name)
            team = _team_of(holder.pk)
            org = team["organisation_id"] if team else None
        security_record(organisation_id=org, verb=verb, target=target)


_USER_FIELDS = ("username", "is_active", "is_staff", "is_superuser", "organisation_id")


def user_snapshot(user: User) -> dict:
    snap = {f: getattr(user, f) for f in _USER_FIELDS}
    snap["password"] = user.password  # compared only; never recorded (see _user_saved)
    return snap


def _user_saved(sender: Any, instance: Any, created: bool, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    if raw:
        return
    before = getattr(instance, "_audit_before", None)
    after = user_snapshot(instance)
    target = {"model": "accounts.user", "id": instance.pk, "user": instance.username}
    shown = {k: v for k, v in after.items() if k != "password"}
    if created or before is None:
        security_record(organisation_id=instance.organisation_id, verb="user.created", target=target, after=shown)
        return
    b, a = _diff(before, after)
    if "password" in a:
        b["password"], a["password"] = "[old]", "[new]"
    if a:
        security_record(organisation_id=instance.organisation_id, verb="user.changed", target=target,
                        before=b, after=a)


def _user_stash(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    # A login only moves last_login: nothing to compare, no extra query.
    if update_fields is not None and not set(update_fields) & {*_USER_FIELDS, "organisation", "password"}:
        instance._audit_before = "skip"
        return
    _stash_before(sender, instance, raw=raw, **kwargs)


def _user_saved_unless_skipped(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if getattr(instance, "_audit_before", None) == "skip":
        instance._audit_before = None
        return
    _user_saved(sender, instance, created, raw=raw, **kwargs)


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    security_record(organisation_id=instance.organisation_id, verb="user.deleted",
                    target={"model": "accounts.user", "id": instance.pk, "user": instance.username},
                    before={k: v for k, v in user_snapshot(instance).items() if k != "password"})


def team_snapshot(team: Any) -> dict:
    return {"slug": team.slug, "name": team.name, "group_id": team.group_id, "organisation": team.organisation_id}


def _team_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    before = getattr(instance, "_audit_before", None)
    after = team_snapshot(instance)
    target = {"model": "accounts.team", "id": instance.pk, "team": instance.slug}
    if created or before is None:
        security_record(organisation_id=instance.organisation_id, verb="team.created", target=target, after=after)
        return
    b, a = _diff(before, after)
    if a:
        # Pointing a team at another group hands its steps and permissions to other people.
        security_record(organisation_id=instance.organisation_id, verb="team.changed", target=target, before=b, after=a)


def _team_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    security_record(organisation_id=instance.organisation_id, verb="team.deleted",
                    target={"model": "accounts.team", "id": instance.pk, "team": instance.slug},
                    before=team_snapshot(instance))


# --- webhook subscriptions -------------------------------------------------------------------

def webhook_snapshot(hook: WebhookSubscription) -> dict:
    return _jsonable({
        "url": safe_url(hook.url), "events": hook.events, "is_active": hook.is_active,
        "organisation": hook.organisation_id,
        # The secret is compared, never recorded: see _webhook_saved.
        "secret": _fingerprint(hook.secret),
    })


def _fingerprint(value: str) -> str:
    import hashlib

    return hashlib.sha256(("parley-audit-compare:" + (value or "")).encode()).hexdigest()


def _webhook_target(hook: Any) -> dict:
    return {"model": "workflows.webhooksubscription", "id": hook.pk}


def _public(snapshot: dict) -> dict:
    return {k: v for k, v in snapshot.items() if k != "secret"}


def _webhook_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    after = webhook_snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        security_record(organisation_id=instance.organisation_id, verb="webhook.created",
                        target=_webhook_target(instance), after=_public(after))
        return
    b, a = _diff(before, after)
    if "secret" in a:
        b["secret"], a["secret"] = "[old]", "[new]"
    if a:
        security_record(organisation_id=instance.organisation_id, verb="webhook.changed",
                        target=_webhook_target(instance), before=b, after=a)


def _webhook_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    security_record(organisation_id=instance.organisation_id, verb="webhook.deleted",
                    target=_webhook_target(instance), before=_public(webhook_snapshot(instance)))


# --- API tokens ------------------------------------------------------------------------------

def token_snapshot(token: Any) -> dict:
    return _jsonable({
        "user_id": token.user_id, "name": token.name, "prefix": token.prefix,
        "revoked_at": token.revoked_at, "key": _fingerprint(token.key_hash),
    })


def _token_org(token: Any) -> int | None:
    from accounts.models import User

    return User.objects.filter(pk=token.user_id).values_list("organisation_id", flat=True).first()


def _token_target(token: Any) -> dict:
    from accounts.models import User

    return {"model": "accounts.apitoken", "id": token.pk, "prefix": token.prefix,
            "user": User.objects.filter(pk=token.user_id).values_list("username", flat=True).first()}


def _token_stash(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= {"last_used_at"}:
        instance._audit_before = "skip"
        return
    _stash_before(sender, instance, raw=raw, **kwargs)


def _token_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    before = getattr(instance, "_audit_before", None)
    if before == "skip":
        instance._audit_before = None
        return
    after = token_snapshot(instance)
    shown = {k: v for k, v in after.items() if k != "key"}
    if created or before is None:
        security_record(organisation_id=_token_org(instance), verb="token.issued",
                        target=_token_target(instance), after=shown)
        return
    b, a = _diff(before, after)
    if "key" in a:
        b["key"], a["key"] = "[old]", "[new]"
    if not a:
        return
    if before["revoked_at"] is None and instance.revoked_at is not None:
        verb = "token.revoked"
    elif before["revoked_at"] is not None and instance.revoked_at is None:
        verb = "token.unrevoked"
    else:
        verb = "token.changed"
    security_record(organisation_id=_token_org(instance), verb=verb, target=_token_target(instance),
                    before=b, after=a)
    if before["user_id"] != instance.user_id:
        # Reassigned: the previous owner's organisation hears about it too.
        from accounts.models import User

        old_org = User.objects.filter(pk=before["user_id"]).values_list("organisation_id", flat=True).first()
        if old_org != _token_org(instance):
            security_record(organisation_id=old_org, verb=verb, target=_token_target(instance), before=b, after=a)


def _token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    shown = {k: v for k, v in token_snapshot(instance).items() if k != "key"}
    security_record(organisation_id=_token_org(instance), verb="token.deleted",
                    target=_token_target(instance), before=shown)


_SNAPSHOTS: dict = {}


def connect() -> None:
    """Wire the receivers (WorkflowsConfig.ready). dispatch_uid keeps them single."""
    from accounts.models import ApiToken, Team, User

    _SNAPSHOTS.update({
        Channel: channel_snapshot, WebhookSubscription: webhook_snapshot, ApiToken: token_snapshot,
        User: user_snapshot, Team: team_snapshot,
    })
    pre_save.connect(_stash_before, sender=Team, dispatch_uid="audit_team_pre")
    post_save.connect(_team_saved, sender=Team, dispatch_uid="audit_team_post")
    post_delete.connect(_team_deleted, sender=Team, dispatch_uid="audit_team_del")
    pre_save.connect(_stash_before, sender=Channel, dispatch_uid="audit_channel_pre")
    post_save.connect(_channel_saved, sender=Channel, dispatch_uid="audit_channel_post")
    post_delete.connect(_channel_deleted, sender=Channel, dispatch_uid="audit_channel_del")
    for model in (ChannelUserObjectPermission, ChannelGroupObjectPermission):
        post_save.connect(_perm_saved, sender=model, dispatch_uid=f"audit_perm_post_{model.__name__}")
        post_delete.connect(_perm_deleted, sender=model, dispatch_uid=f"audit_perm_del_{model.__name__}")
    m2m_changed.connect(_membership_changed, sender=User.groups.through, dispatch_uid="audit_membership")
    m2m_changed.connect(_global_perms_changed, sender=User.user_permissions.through, dispatch_uid="audit_user_perms")
    m2m_changed.connect(_global_perms_changed, sender=Group.permissions.through, dispatch_uid="audit_group_perms")
    pre_save.connect(_user_stash, sender=User, dispatch_uid="audit_user_pre")
    post_save.connect(_user_saved_unless_skipped, sender=User, dispatch_uid="audit_user_post")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="audit_user_del")
    pre_save.connect(_stash_before, sender=WebhookSubscription, dispatch_uid="audit_webhook_pre")
    post_save.connect(_webhook_saved, sender=WebhookSubscription, dispatch_uid="audit_webhook_post")
    post_delete.connect(_webhook_deleted, sender=WebhookSubscription, dispatch_uid="audit_webhook_del")
    pre_save.connect(_token_stash, sender=ApiToken, dispatch_uid="audit_token_pre")
    post_save.connect(_token_saved, sender=ApiToken, dispatch_uid="audit_token_post")
    post_delete.connect(_token_deleted, sender=ApiToken, dispatch_uid="audit_token_del")
