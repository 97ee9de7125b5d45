"""Domain exceptions. One DRF exception handler maps them to problem-details responses."""
from __future__ import annotations


class WorkflowError(Exception):
    """Base of every domain error. `status` is the HTTP status the API answers with."""

    status = 400
    title = "Workflow error"

    def __init__(self, message: str = "", *, errors: dict | None = None, code: str = ""):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.errors = errors or {}
        self.code = code or self.__class__.__name__


class InvalidInput(WorkflowError):
    status = 400
    title = "Invalid input"


class NotFound(WorkflowError):
    status = 404
    title = "Not found"


class NotPermitted(WorkflowError):
    status = 403
    title = "Not permitted"


class InvalidTransition(WorkflowError):
    """The post is not in a state that allows the action (or changed meanwhile)."""

    status = 409
    title = "Conflict"


class Conflict(InvalidTransition):
    """A stale version, a duplicate, or a concurrent action that lost the race."""


class GuidelineViolation(WorkflowError):
    status = 422
    title = "Guideline violation"

    def __init__(self, message: str = "", *, violations: list[dict] | None = None):
        self.violations = violations or []
        errors: dict[str, list[str]] = {}
        for v in self.violations:
            errors.setdefault(v.get("field") or "texts", []).append(v["message"])
        super().__init__(message or "Blocking guideline violations.", errors=errors)
