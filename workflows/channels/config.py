"""One schema per adapter for `Channel.adapter_config`, checked when a channel is saved (admin,
model `clean()`) and again when an adapter reads it (preflight, `Adapter.secret()`).

Kinds of key:
- `url`: an http(s) URL whose host is allowed by the outbound door (`outbound.check_url`: no
  loopback, private or link-local address unless the operator allow-lists it);
- `secret`: the NAME of an environment variable holding a secret; it must start with
  `PARLEY_SECRET_` (so a channel can never name SECRET_KEY or DATABASE_URL);
- `logfile`: a file inside PUBLICATION_LOG_DIR (`publication_log_file`: no way out through `..`,
  an absolute path or a symbolic link; no folder created);
- `str`, `int`, `choice`, `list`.

Every key is documented in the README ("Channel configuration"). An adapter class may carry its
own `config_schema` (same shape); otherwise the entry of SCHEMAS under its name applies. This
module imports no adapter (they import it): the registry in `workflows/channels/__init__.py`
resolves a name to its class and schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from ..outbound import ConfigError, NotSentError, OutboundRefused, check_url

#: Every secret an adapter reads from the environment is named by a variable with this prefix,
#: so a channel can never name SECRET_KEY, DATABASE_URL or DEMO_PASSWORD.
SECRET_PREFIX = "PARLEY_SECRET_"


def secret_name_ok(name: object) -> bool:
    import re

    return isinstance(name, str) and re.fullmatch(r"PARLEY_SECRET_[A-Z0-9_]{1,100}", name) is not None


@dataclass(frozen=True)
class Key:
    kind: str                       # url | secret | str | int | choice | list
    required: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""
    minimum: int | None = None
    extra: dict = field(default_factory=dict)


VISIBILITIES = ("public", "unlisted", "private", "direct")

SCHEMAS: dict[str, dict[str, Key]] = {
    "log": {
        "path": Key("logfile", help="File the demo adapter appends to, inside PUBLICATION_LOG_DIR "
                                    "(default PUBLISH_LOG_PATH)."),
    },
    "webhook": {
        "url": Key("url", required=True, help="Where each publication is POSTed."),
        "secret_env": Key("secret", help="Variable holding the HMAC key for X-Parley-Signature."),
        "lookup_url": Key("url", help="GET ?idempotency_key=&since= answers 200 with the document or 404."),
        "retract_url": Key("url", help="DELETE <retract_url>/<external id> removes a publication."),
        "info_url": Key("url", help="GET answers {account: {handle, display_name, url}, limits: "
                                    "{max_length, unit}}: test connection and the platform's limits."),
    },
    "mastodon": {
        "api_base_url": Key("url", required=True, help="The instance, e.g. https://social.example."),
        "token_env": Key("secret", required=True, help="Variable holding the account's access token."),
        "visibility": Key("choice", choices=VISIBILITIES, help="Visibility of broadcasts (default public)."),
    },
    "bluesky": {
        "base_url": Key("url", help="The PDS's XRPC endpoint (default https://bsky.social/xrpc)."),
        "handle": Key("str", help="The account's handle (default: the channel's handle)."),
        "password_env": Key("secret", required=True, help="Variable holding the app password."),
    },
}


def publication_log_dir() -> Path:
    """The one folder a log channel's `path` may name a file in (PUBLICATION_LOG_DIR, default the
    folder of PUBLISH_LOG_PATH), with its symbolic links resolved."""
    configured = getattr(settings, "PUBLICATION_LOG_DIR", "") or Path(settings.PUBLISH_LOG_PATH).parent
    return Path(configured).resolve()


def publication_log_file(value: str) -> Path:
    """The file a log channel's `path` names, resolved (symbolic links followed) and inside
    publication_log_dir(), in a folder that exists; ConfigError (a clear reason) otherwise. Checked
    when the channel is saved and again before every write, so a link planted later does not
    lead outside either."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value or len(value) > 500:
        raise ConfigError(_("Give a file name inside the publication log folder."))
    base = publication_log_dir()
    full = (base / value).resolve()
    if full == base or not full.is_relative_to(base):
        raise ConfigError(_("The file must be inside the publication log folder %(folder)s.") % {"folder": base})
    if not full.parent.is_dir():
        raise ConfigError(_("The folder %(folder)s does not exist: Parley creates no folders for a channel.") % {
            "folder": full.parent})
    return full


def _check_url(value: str, *, offline: bool = False) -> str | None:
    """A clear reason when `value` cannot be used, else None. A name that does not resolve
    now is accepted (the door checks again at every connection); a refused address is not.
    `offline`: the form only (http(s) with a host), no name resolution."""
    if offline:
        try:
            parsed = httpx.URL(value)
        except Exception:  # noqa: BLE001 - httpx.InvalidURL and friends
            return _("not a valid URL")
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return _("not a valid URL")
        return None
    try:
        check_url(value)
    except OutboundRefused as exc:
        return str(exc)
    except NotSentError:
        return None
    except Exception:  # noqa: BLE001 - httpx.InvalidURL and friends
        return _("not a valid URL")
    return None


def check_config(adapter: str, config: object, *, schema: dict[str, Key] | None = None,
                 offline: bool = False) -> dict[str, str]:
    """{key: what is wrong} for `config` under `schema` (the adapter class's own
    `config_schema`), else SCHEMAS[adapter]; empty when valid. The messages are in the active
    language. By adapter name: `workflows.channels.validate_config`. `offline`: URLs are checked
    for their form only, without resolving their host (a page or a submit asking whether a
    channel is usable must not wait on DNS; the preflight and every connection still check)."""
    schema = schema if schema is not None else SCHEMAS.get(adapter)
    if schema is None:
        return {"adapter": _("Unknown adapter %(name)s.") % {"name": adapter}}
    if not isinstance(config, dict):
        return {"adapter_config": _("Give a JSON object.")}
    errors: dict[str, str] = {}
    for key in config:
        if key not in schema:
            errors[str(key)] = _("Unknown key for the %(adapter)s adapter; allowed keys: %(keys)s.") % {
                "adapter": adapter, "keys": ", ".join(sorted(schema)) or "—"}
    for key, spec in schema.items():
        value = config.get(key)
        if value in (None, ""):
            if spec.required:
                errors[key] = _("Required.")
            continue
        if spec.kind in ("url", "secret", "str", "choice", "logfile") and not isinstance(value, str):
            errors[key] = _("Give a string.")
        elif spec.kind == "logfile":
            try:
                publication_log_file(str(value))
            except ConfigError as exc:
                errors[key] = str(exc)
        elif spec.kind == "url":
            reason = _check_url(str(value), offline=offline)
            if reason:
                errors[key] = _("Not a usable http(s) URL: %(reason)s") % {"reason": reason}
        elif spec.kind == "secret" and not secret_name_ok(value):
            errors[key] = _("Name an environment variable starting with %(prefix)s "
                            "(capital letters, digits and _ only), not %(name)s.") % {
                "prefix": SECRET_PREFIX, "name": value}
        elif spec.kind == "choice" and value not in spec.choices:
            errors[key] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(spec.choices)}
        elif spec.kind == "int" and (not isinstance(value, int) or isinstance(value, bool)
                                     or (spec.minimum is not None and value < spec.minimum)):
            errors[key] = _("Give a whole number.")
        elif spec.kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            errors[key] = _("Give a list of strings.")
    return errors
