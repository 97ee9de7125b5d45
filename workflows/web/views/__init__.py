"""Web UI for staff and approvers: thin views over workflows.services and workflows.selectors.

Views parse a form, call one service (or selector) and render. Every rule is the services'; a
service exception is shown as an error summary linked to the field it concerns.

A package by page family (issue 23): the helpers every page uses, sign-in and language, home, the
inbox, compose and the live checks, the post page and its actions, the approver queue and metrics.
urls.py and the other web modules use `views.<name>`; the names below are the public surface."""
from __future__ import annotations

from .account import (
    LoginView,
    LogoutView,
    gcds_css,
    language,
)
from .common import (
    describe_errors,
    draft_channel_choices,
    lang_inline,
    lang_name,
    page,
    safe_next,
    service_error,
    visible_channel_choices,
    visible_post,
)
from .compose import (
    checks,
    compose,
)
from .home import (
    HOME_LIST_SIZE,
    home,
)
from .inbox import (
    INBOX_PAGE_SIZE,
    callback_done,
    inbound_claim,
    inbound_detail,
    inbound_dismiss,
    inbound_engage,
    inbound_log,
    inbox,
)
from .metrics import (
    metrics,
)
from .posts import (
    ACTIONS,
    post_action,
    post_detail,
)
from .queue import (
    QUEUE_PAGE_SIZE,
    queue,
    queue_approve,
)

__all__ = [
    "ACTIONS",
    "HOME_LIST_SIZE",
    "INBOX_PAGE_SIZE",
    "LoginView",
    "LogoutView",
    "QUEUE_PAGE_SIZE",
    "callback_done",
    "checks",
    "compose",
    "describe_errors",
    "draft_channel_choices",
    "gcds_css",
    "home",
    "inbound_claim",
    "inbound_detail",
    "inbound_dismiss",
    "inbound_engage",
    "inbound_log",
    "inbox",
    "lang_inline",
    "lang_name",
    "language",
    "metrics",
    "page",
    "post_action",
    "post_detail",
    "queue",
    "queue_approve",
    "safe_next",
    "service_error",
    "visible_channel_choices",
    "visible_post",
]
