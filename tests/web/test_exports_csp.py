"""The export pages under the real Content-Security-Policy: the progress region's htmx polling
runs with no violation (tests/web/test_exports.py walks them with the policy bypassed for axe)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.workflows import factories as f
from workflows.models import AtipExport
from workflows.services import atip
from workflows.services.atip import jobs as atip_jobs

from .test_browser import sign_in
from .test_browser_csp import _visit, _watch


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "bypass_csp": False}


@pytest.fixture(autouse=True)
def held_exports(settings, tmp_path, monkeypatch):
    settings.EXPORT_ROOT = tmp_path / "exports"
    held: list[int] = []
    # Patched where atip_export_request looks it up (the package re-exports no private name).
    monkeypatch.setattr(atip_jobs, "_enqueue_on_commit", held.append)
    return held


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_progress_polling_runs_under_the_policy(live_server, seeded, page: Page, held_exports):
    post = f.approved(seeded)
    base = live_server.url
    problems = _watch(page)
    sign_in(page, base, "cora")
    _visit(page, f"{base}/exports/?post={post.id}", problems)
    page.get_by_role("button", name="Request the export").click()
    expect(page.locator("#export-live")).to_contain_text("Waiting to start")
    assert held_exports == [AtipExport.objects.get().id]  # held back: no worker built it
    atip.atip_export_build(export_id=AtipExport.objects.get().id)
    expect(page.locator("#export-live")).to_contain_text("Ready: 1 post", timeout=10_000)
    problems.extend(page.evaluate("window.__csp"))
    assert problems == [], "\n".join(problems)
