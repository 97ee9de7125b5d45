"""Domain exceptions. One DRF exception handler maps them to problem-details responses.

An error carries a stable `code` and `params` (see workflows.messages); its words are rendered
in the reader's language when read (`message`, `str()`), never fixed when raised. Field errors
are `{field: [Message(code, params), ...]}`. An error raised with a code the catalogue does not
know (older call sites) keeps the English text it was given."""
from __future__ import annotations

from typing import Any

from .messages import Message, known, render


class WorkflowError(Exception):
    """Base of every domain error. `status` is the HTTP status the API answers with."""

    status = 400
    title = "Workflow error"
    #: catalogue code of the problem title (by kind of error)
    title_code = "problem.error"
    #: code used when none is given
    default_code = ""

    def __init__(self, text: str = "", *, code: str = "", params: dict[str, Any] | None = None,
                 errors: dict | None = None):
        self.code = code or self.default_code or self.__class__.__name__
        self.params = dict(params or {})
        self._text = text
        self.errors = errors or {}
        super().__init__(text or self.code)

    @property
    def message(self) -> str:
        """The error in the active language."""
        if known(self.code):
            return render(self.code, self.params)
        return self._text or self.title

    def __str__(self) -> str:
        return self.message

    def rendered_errors(self) -> dict[str, list[str]]:
        return {k: [str(m) for m in v] for k, v in (self.errors or {}).items()}

    def error_codes(self) -> dict[str, list[dict]]:
        return {k: [m.as_data() if isinstance(m, Message) else {"code": "", "params": {}} for m in v]
                for k, v in (self.errors or {}).items()}


class InvalidInput(WorkflowError):
    status = 400
    title = "Invalid input"
    title_code = "problem.invalid_input"


class TextTooLong(InvalidInput):
    """A text over its cap (workflows.limits): refused before any rule runs."""

    status = 422
    title = "Text too long"
    title_code = "problem.text_too_long"
    default_code = "text.too_long"


class Unpublishable(InvalidInput):
    """What would be accepted and then publish nothing (or drop a language): refused at create,
    edit, translation and submit (publishing.ensure_publishable)."""

    status = 422
    title = "Nothing would be published"
    title_code = "problem.unpublishable"


class ChannelUnusable(InvalidInput):
    """A target channel cannot publish (switched off, or its configuration fails its adapter's
    schema): refused when the post is drafted or submitted, never after the approval chain."""

    status = 422
    title = "Channel cannot publish"
    title_code = "channel.unusable_title"
    default_code = "channel.unusable"


class MediaRefused(InvalidInput):
    """An upload refused by workflows.media (docs/media.md): its type, size, pixels, duration,
    or a damaged or two-faced file. Nothing was stored. The code says which (`media.upload.*`)."""

    status = 422
    title = "File refused"
    title_code = "problem.media_refused"
    default_code = "media.upload.unsupported"


class NotFound(WorkflowError):
    status = 404
    title = "Not found"
    title_code = "problem.not_found"
    default_code = "not_found.resource"


class NotPermitted(WorkflowError):
    status = 403
    title = "Not permitted"
    title_code = "problem.not_permitted"


class Gone(WorkflowError):
    """Something that existed and is no more: a used, expired, revoked or outdated link; an
    expired export's download."""

    status = 410
    title = "Gone"
    title_code = "problem.gone"


class InvalidTransition(WorkflowError):
    """The post is not in a state that allows the action (or changed meanwhile)."""

    status = 409
    title = "Conflict"
    title_code = "problem.conflict"


class Conflict(InvalidTransition):
    """A stale version, a duplicate, or a concurrent action that lost the race."""


class GuidelineViolation(WorkflowError):
    """Blocking guideline results. `violations` are stored-form results (code, params, rule,
    severity, language, field); their messages are rendered when read."""

    status = 422
    title = "Guideline violation"
    title_code = "problem.guideline_violation"
    default_code = "guideline_violation"

    def __init__(self, text: str = "", *, violations: list[dict] | None = None, code: str = "",
                 params: dict[str, Any] | None = None):
        self.violations = [dict(v) for v in (violations or [])]
        errors: dict[str, list] = {}
        for v in self.violations:
            msg = Message(v["code"], v.get("params") or {}) if v.get("code") else v.get("message", "")
            errors.setdefault(v.get("field") or "texts", []).append(msg)
        super().__init__(text, code=code, params={"count": len(self.violations), **(params or {})}, errors=errors)

    def rendered_violations(self) -> list[dict]:
        out = []
        for v in self.violations:
            item = dict(v)
            if v.get("code"):
                item["message"] = render(v["code"], v.get("params") or {}, fallback=v.get("message", ""))
            out.append(item)
        return out

    @property
    def message(self) -> str:
        if self.code == "guideline_violation" and self.violations:
            return "; ".join(m for ms in self.rendered_errors().values() for m in ms)
        return super().message
