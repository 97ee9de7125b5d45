"""Every action, as an edge runs it: one object per action (Wagtail's `wagtail/actions/*.py`).

The contract of an action object (`WorkflowAction`):

* `check(user, obj)` answers "may `user` do it now, and if not, why (a code)": `None`, or a
  `Refusal`. It is the rule of `workflows/services/actions.py`, asked by the post page's
  buttons, the API's `actions` field, the inbox's reply form and the tests. It changes nothing.
* `execute(**kwargs)` does it, and **checks before it does anything**: it runs the service, which
  takes the row lock, calls the same rule's `ensure` under that lock (so the check judges the
  state it is about to change), and only then changes anything. A refusal raises the rule's
  error (a `WorkflowError` with a catalogue code); nothing is written, nothing is audited.
  The arguments are the service's own keywords: the actor (`actor`, usually `by`; `author` for
  a new draft; for the outside decision the link's `token`, which names its stand-in account)
  and the target (`target`: `post_id`, `inbound_id`, `review_id`, `publication_id`,
  `invitation_id`, `delivery_id`; the `channels` or the `channel` for what does not exist yet),
  then the input. `tests/workflows/test_action_objects.py` runs every object here as someone
  without the permission, on a real row, and asserts the refusal with nothing changed (state,
  audit trail); and, for a permitted caller, that the work waits on this object's own rule.

Every edge runs an action through its object here: the API, the post page, the queue's bulk
approve, the inbox, the outside link, the admin and the seed command (docs/architecture.md,
"One way to run an action", has the table). The rules sit below the services (the services ask
them); these objects sit above (they import the services): import-linter's
`actions-above-services` and `edges-run-action-objects` contracts keep both.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from accounts.models import User

from .constants import Action
from .permissions import CallerPerms
from .services import actions as rules
from .services import (
    engagement,
    inbound,
    inbound_manual,
    outside_review,
    posts,
    publishing,
    reviews,
    translations,
)
from .services.actions import (
    Refusal,
    inbound_actions,
    may_invite,
    post_actions,
    resolvable,
    reviews_to_complete,
)


class WorkflowAction:
    """One action: its rule (`check`, `allowed`) and its service (`execute`: the rule's `ensure`
    under the row lock, then the work). `actor` and `target` name the service's keywords for who
    acts and on what."""

    def __init__(self, rule: rules.WorkflowAction, service: Callable[..., Any], *, actor: str = "by",
                 target: str = "post_id") -> None:
        params = inspect.signature(service).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for keyword in (actor, target):
            if keyword not in params and not takes_any:
                raise TypeError(f"{service.__qualname__} takes no {keyword!r}: not an action's service")
        self.rule, self.service, self.actor, self.target = rule, service, actor, target

    @property
    def name(self) -> Action:
        return self.rule.name

    def check(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> Refusal | None:
        return self.rule.check(user, obj, perms=perms)

    def allowed(self, user: User, obj: Any, *, perms: CallerPerms | None = None) -> bool:
        return self.check(user, obj, perms=perms) is None

    def execute(self, **kwargs: Any) -> Any:
        """Check, then do: the service locks the target, asks `rule.ensure` under the lock (a
        refusal raises and nothing changes), then does the work in the same transaction."""
        return self.service(**kwargs)

    def __repr__(self) -> str:
        return f"<WorkflowAction {self.name}: {self.service.__module__}.{self.service.__qualname__}>"


# --- posts ----------------------------------------------------------------------------------
CREATE = WorkflowAction(rules.CREATE, posts.post_create, actor="author", target="channels")
#: "Save and submit" a new draft: the create rule, then the submit rule, in one transaction.
CREATE_AND_SUBMIT = WorkflowAction(rules.CREATE, posts.post_create_and_submit, actor="author", target="channels")
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
COMPLETE_REVIEW = WorkflowAction(rules.COMPLETE_REVIEW, reviews.review_complete, target="review_id")
RETRY = WorkflowAction(rules.RETRY, publishing.post_retry)
RESOLVE = WorkflowAction(rules.RESOLVE, publishing.publication_resolve, target="publication_id")
RETRACT = WorkflowAction(rules.RETRACT, publishing.post_retract)

# --- the conversation inbox -----------------------------------------------------------------
INGEST = WorkflowAction(rules.INGEST, inbound.inbound_ingest, target="channel")
#: A message that came by phone or e-mail, logged by staff: the ingest rule.
LOG_MANUAL = WorkflowAction(rules.INGEST, inbound_manual.inbound_log_manual, target="channel")
CLAIM = WorkflowAction(rules.CLAIM, inbound.inbound_claim, target="inbound_id")
DISMISS = WorkflowAction(rules.DISMISS, inbound.inbound_dismiss, target="inbound_id")
REPLY = WorkflowAction(rules.REPLY, posts.reply_send, target="inbound_id")
ENGAGE = WorkflowAction(rules.ENGAGE, engagement.inbound_engage, target="inbound_id")
CALLBACK_DONE = WorkflowAction(rules.CALLBACK_DONE, inbound_manual.reply_callback_done, target="delivery_id")

# --- people from outside --------------------------------------------------------------------
INVITE = WorkflowAction(rules.INVITE, outside_review.invitation_create)
REVOKE_INVITATION = WorkflowAction(rules.REVOKE_INVITATION, outside_review.invitation_revoke,
                                   target="invitation_id")
#: No account acts: the link's token names the invitation and its stand-in account.
OUTSIDE_DECIDE = WorkflowAction(rules.OUTSIDE_DECIDE, outside_review.invitation_decide, actor="token",
                                target="token")

#: Every action object, the combined ones ("save and submit") included.
OBJECTS: tuple[WorkflowAction, ...] = (
    CREATE, CREATE_AND_SUBMIT, EDIT, SUBMIT, EDIT_AND_SUBMIT, WITHDRAW, PUBLISH_URGENT, APPROVE,
    REQUEST_CHANGES, REJECT, TRANSLATE, COMPLETE_REVIEW, RETRY, RESOLVE, RETRACT, INGEST, LOG_MANUAL,
    CLAIM, DISMISS, REPLY, ENGAGE, CALLBACK_DONE, INVITE, REVOKE_INVITATION, OUTSIDE_DECIDE,
)
#: Every action by name (its plain object; "save and submit" shares its name's rule).
ACTIONS: dict[Action, WorkflowAction] = {obj.name: obj for obj in reversed(OBJECTS)}  # the first one wins

__all__ = ["ACTIONS", "OBJECTS", "Refusal", "WorkflowAction", "inbound_actions", "may_invite", "post_actions",
           "resolvable", "reviews_to_complete"]
