"""One way to run an action (issue 23): no edge calls an action's service itself; it runs the
action object (workflows/actions.py), whose execute() checks and then does the work.

The edges: the API, the web pages, the admin, the management commands, the template tags and
the demo seed. The names come from the objects themselves (each object's `service`), so a new
action is covered when its object is added. import-linter's `edges-run-action-objects`
contract refuses the modules whose every write is an action (posts, reviews, translations,
publishing, inbound); this test also covers the modules edges still read from (outside_review,
inbound_manual, engagement)."""
from __future__ import annotations

import ast
from pathlib import Path

from workflows import actions

ROOT = Path(__file__).resolve().parent.parent
EDGES = [
    *sorted((ROOT / "workflows" / "api").rglob("*.py")),
    *sorted((ROOT / "workflows" / "web").rglob("*.py")),
    *sorted((ROOT / "workflows" / "management").rglob("*.py")),
    *sorted((ROOT / "workflows" / "templatetags").rglob("*.py")),
    ROOT / "workflows" / "admin.py",
    ROOT / "workflows" / "demo_scenario.py",
    ROOT / "workflows" / "demo_media.py",
]
SERVICES = {obj.service.__name__ for obj in actions.OBJECTS}


def offences(source: str, services: set[str] = SERVICES) -> list[str]:
    """Where `source` imports an action's service by name or calls one as `<module>.<service>(`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and "services" in (node.module or ""):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in services]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in services):
            found.append(f"line {node.lineno}: calls {ast.unparse(node.func)}")
    return found


def test_the_services_are_known():
    assert {"post_create", "post_approve", "invitation_decide", "invitation_revoke", "inbound_engage",
            "reply_callback_done", "inbound_log_manual"} <= SERVICES


def test_no_edge_runs_an_action_without_its_object():
    assert len(EDGES) > 20
    bad = {str(p.relative_to(ROOT)): o for p in EDGES if (o := offences(p.read_text()))}
    assert not bad, bad


def test_the_rule_can_fail():
    assert offences("from ..services.outside_review import invitation_revoke\n")
    assert offences("from ..services import outside_review\noutside_review.invitation_decide(token=t)\n")
    assert offences("post_services.post_create(author=u)\n")
    assert not offences("actions.APPROVE.execute(post_id=1, by=u)\nfrom ..services.outside_review import token_hash\n")
