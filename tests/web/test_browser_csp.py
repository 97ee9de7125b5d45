"""A strict Content-Security-Policy (django-csp) on every page, and the page still works in a
real Chromium: no `securitypolicyviolation` event and no CSP console error on the main pages,
the GC Design System's components hydrate, and an htmx interaction (claiming a message from the
inbox without a reload) goes through."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_browser import ingest, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def browser_context_args(browser_context_args):
    """Under the policy (tests/web/conftest.py bypasses it for the axe-core tests)."""
    return {**browser_context_args, "bypass_csp": False}


LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.add_init_script(LISTEN)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def _visit(page: Page, url: str, problems: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    policy = response.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, policy
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    page.wait_for_load_state("networkidle")
    problems.extend(f"{url}: {v}" for v in page.evaluate("window.__csp"))


def test_main_pages_run_under_the_policy(live_server, seeded, embedded, page: Page):
    from workflows.services.posts import post_create

    base = live_server.url
    problems = _watch(page)
    _visit(page, f"{base}/accounts/login/", problems)
    _visit(page, f"{base}/admin/login/", problems)
    _visit(page, f"{base}/api/docs/", problems)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Parley API")  # the split script ran

    msg = ingest(seeded, "When does the office open on Monday?", "csp-1")
    post = post_create(author=seeded.dana, channels=["dpe-en", "dpe-fr"], kind="post", lane="official",
                       texts={"en": "Our offices reopen on Monday."}, rules_acknowledged=True)
    sign_in(page, base, "dana")
    for path in ["/", "/inbox/", f"/inbox/{msg.id}/", "/posts/new/", f"/posts/{post.id}/", "/queue/",
                 "/metrics/"]:
        _visit(page, base + path, problems)
        # The GC Design System hydrated: Stencil marks the element and it has its shadow DOM.
        expect(page.locator("gcds-header")).to_have_class("hydrated")
        assert page.evaluate("document.querySelector('gcds-header').shadowRoot !== null")

    # htmx still works: claim from the inbox, the row is swapped in place, no navigation.
    _visit(page, f"{base}/inbox/", problems)
    page.evaluate("window.__marker = 'still-here'")
    page.locator(f"#inbound-{msg.id} form button").click()
    expect(page.locator("#status")).to_contain_text("claimed by you")
    expect(page.locator(f"#inbound-{msg.id}")).to_contain_text("dana")
    assert page.evaluate("window.__marker") == "still-here"
    problems.extend(page.evaluate("window.__csp"))

    assert problems == [], "\n".join(problems)
