"""Every action, as an edge runs it: one object per action (Wagtail's `wagtail/actions/*.py`).

* `check(user, obj)` answers "may `user` do it now, and if not, why (a code)": the rule of
  `workflows/services/actions.py`, asked by the post page's buttons, the API's `actions` field
  and the tests.
* `execute(**kwargs)` does it: the service, imported plainly here, takes the row lock and calls
  the same rule under it (`ensure`) before it changes anything, so the check judges the state it
  is about to change; a refusal raises the rule's error.

Every edge (the API, the post page, the queue's bulk approve, the inbox) runs an action through
its object here. The rules sit below the services (the services ask them); these objects sit
above (they import the services): import-linter's `actions-above-services` contract keeps both.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User

from .constants import Action
from .permissions import CallerPerms
from .services import actions as rules
from .services import inbound, posts, publishing, reviews, translations
from .services.actions import (
    Refusal,
    inbound_actions,
    post_actions,
    resolvable,
    reviews_to_complete,
)


class WorkflowAction:
    """One action: its rule (`check`, `allowed`) and its service (`execute`)."""

    def __init__(self, rule: rules.WorkflowAction, service: Callable[..., Any]) -> None:
        self.rule, self.service = rule, service

    @property
    def name(self) -> Action:
        return self.rule.name

    def check(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> Refusal | None:
        return self.rule.check(user, obj, perms=perms)

    def allowed(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> bool:
        return self.check(user, obj, perms=perms) is None

    def execute(self, **kwargs: Any) -> Any:
        """Run the service: under its row lock it checks (`rule.ensure`), then does the work."""
        return self.service(**kwargs)


EDIT = WorkflowAction(rules.EDIT, posts.post_edit)
SUBMIT = WorkflowAction(rules.SUBMIT, posts.post_submit)
#: "Save and submit": the edit's rule, then the submit's, in one transaction.
EDIT_AND_SUBMIT = WorkflowAction(rules.EDIT, posts.post_edit_and_submit)
WITHDRAW = WorkflowAction(rules.WITHDRAW, posts.post_withdraw)
PUBLISH_URGENT = WorkflowAction(rules.PUBLISH_URGENT, posts.post_publish_urgent)
APPROVE = WorkflowAction(rules.APPROVE, reviews.post_approve)
REQUEST_CHANGES = WorkflowAction(rules.REQUEST_CHANGES, reviews.post_request_changes)
REJECT = WorkflowAction(rules.REJECT, reviews.post_reject)
TRANSLATE = WorkflowAction(rules.TRANSLATE, translations.translation_provide)
COMPLETE_REVIEW = WorkflowAction(rules.COMPLETE_REVIEW, reviews.review_complete)
RETRY = WorkflowAction(rules.RETRY, publishing.post_retry)
RESOLVE = WorkflowAction(rules.RESOLVE, publishing.publication_resolve)
RETRACT = WorkflowAction(rules.RETRACT, publishing.post_retract)
CLAIM = WorkflowAction(rules.CLAIM, inbound.inbound_claim)
DISMISS = WorkflowAction(rules.DISMISS, inbound.inbound_dismiss)
REPLY = WorkflowAction(rules.REPLY, posts.reply_send)

#: Every action by name.
ACTIONS: dict[Action, WorkflowAction] = {a.name: a for a in (
    EDIT, SUBMIT, WITHDRAW, PUBLISH_URGENT, APPROVE, REQUEST_CHANGES, REJECT, TRANSLATE,
    COMPLETE_REVIEW, RETRY, RESOLVE, RETRACT, CLAIM, DISMISS, REPLY,
)}

__all__ = ["ACTIONS", "Refusal", "WorkflowAction", "inbound_actions", "post_actions", "resolvable",
           "reviews_to_complete"]
