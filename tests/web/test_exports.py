"""Access-to-information exports in the web UI: the request form, the progress page, the
download and its expiry (views), and a real Chromium walk request → progress → download in
English and French with axe-core."""
from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.workflows import factories as f
from workflows.models import AtipExport
from workflows.services import atip
from workflows.services.atip import jobs as atip_jobs

from .conftest import AXE
from .test_browser import AXE_TAGS, _axe, sign_in


@pytest.fixture(autouse=True)
def _export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def no_worker(monkeypatch):
    """The request is recorded but no worker picks it up until the test builds it (as a worker
    would), so the page's progress region is seen waiting and then finishing. Returns the ids
    held back: a test asserts its request landed here, so a patch that misses fails."""
    held: list[int] = []
    # Patched where atip_export_request looks it up (the package re-exports no private name).
    monkeypatch.setattr(atip_jobs, "_enqueue_on_commit", held.append)
    return held


def _as(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_request_page_permission_errors_and_the_expired_page(client, demo, no_worker):
    client.force_login(demo.dana)
    page = client.get("/exports/").content.decode()
    assert "you need the export permission" in page
    r = client.post("/exports/", {"organisation": demo.dana.organisation_id}, follow=True)
    assert "You may not export records" in r.content.decode()
    assert not AtipExport.objects.exists()
    client.force_login(demo.cora)
    bad = client.post("/exports/", {"organisation": demo.cora.organisation_id, "redact_patterns": "(unclosed"})
    assert "is not a valid pattern" in bad.content.decode() and "error-summary" in bad.content.decode()
    assert not AtipExport.objects.exists()
    post = f.approved(demo)
    assert f"/exports/?post={post.id}" in client.get(f"/posts/{post.id}/").content.decode()
    assert "/exports/?post=" not in _as(client, demo.dana).get(f"/posts/{post.id}/").content.decode()
    client.force_login(demo.cora)
    assert f'value="{post.id}"' in client.get(f"/exports/?post={post.id}").content.decode()
    r = client.post("/exports/", {"organisation": demo.cora.organisation_id, "post": post.id,
                                  "redact_names": "on", "date_from": "2020-01-01"})
    export = AtipExport.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/exports/{export.id}/"
    assert no_worker == [export.id]  # the hand-off to the workers was held back, not sent
    assert export.redact_names and export.date_from.date().isoformat() == "2020-01-01"
    waiting = client.get(r["Location"]).content.decode()
    assert 'role="status"' in waiting and "<progress" in waiting and "Waiting to start" in waiting
    assert f'hx-get="/exports/{export.id}/progress/"' in waiting
    atip.atip_export_build(export_id=export.id)
    ready = client.get(f"/exports/{export.id}/progress/").content.decode()
    assert "Download the ZIP" in ready and "hx-get" not in ready
    assert "<progress" not in ready and "Being prepared" not in ready  # issue 21: finished looks finished
    got = client.get(f"/exports/{export.id}/download/")
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    # Nobody else sees it.
    client.force_login(demo.rami)
    assert client.get(f"/exports/{export.id}/").status_code == 404
    assert client.get(f"/exports/{export.id}/download/").status_code == 404
    # Expired: a clear page in both languages, 410.
    client.force_login(demo.cora)
    AtipExport.objects.filter(id=export.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = client.get(f"/exports/{export.id}/download/")
    assert gone.status_code == 410
    text = gone.content.decode()
    assert "This export&#x27;s download link has expired" in text or "This export's download link has expired" in text
    assert "a expiré" in text and 'lang="fr"' in text


@pytest.mark.django_db
def test_the_admin_shows_exports_read_only_without_their_patterns(client, demo):
    export = atip.atip_export_request(by=demo.cora, redact_patterns=["AB-[0-9]+"])
    client.force_login(demo.admin)
    assert client.get("/admin/workflows/atipexport/").status_code == 200
    page = client.get(f"/admin/workflows/atipexport/{export.id}/change/")
    assert page.status_code == 200 and "AB-[0-9]+" not in page.content.decode()
    assert client.get("/admin/workflows/atipexport/add/").status_code == 403
    assert client.post(f"/admin/workflows/atipexport/{export.id}/delete/", {"post": "yes"}).status_code == 403
    assert AtipExport.objects.filter(id=export.id).exists()


WORDS = {
    "en": {"nav": "ATIP exports", "request": "Request the export", "waiting": "Waiting to start",
           "ready": "Ready: 1 post", "download": "Download the ZIP", "names": "Redact citizens' names",
           "verified": "The audit trail verifies."},
    "fr": {"nav": "Exportations AIPRP", "request": "Demander l’exportation", "waiting": "En attente de démarrage",
           "ready": "Prête\u00a0: 1 publication", "download": "Télécharger le ZIP",
           "names": "Caviarder les noms des citoyens", "verified": "La piste d’audit se vérifie."},
}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_atip_officer_requests_follows_and_downloads_an_export(live_server, seeded, no_worker, page: Page,
                                                                   lang, tmp_path):
    words = WORDS[lang]
    post = f.published(seeded)
    base = live_server.url
    sign_in(page, base, "cora", lang=lang)
    page.get_by_role("link", name=words["nav"]).click()
    assert _axe(page) == []
    page.locator("#id_post").fill(str(post.id))
    page.get_by_label(words["names"]).check()
    page.locator("#id_redact_patterns").fill(r"AB-\d+")
    page.get_by_role("button", name=words["request"]).focus()
    page.keyboard.press("Enter")
    live = page.locator("#export-live[role=status][aria-live=polite]")
    expect(live).to_contain_text(words["waiting"])
    expect(page.locator("progress#export-bar")).to_have_attribute("value", "0")
    assert _axe(page) == []
    export = AtipExport.objects.get()
    assert export.language == lang
    assert no_worker == [export.id]
    atip.atip_export_build(export_id=export.id)  # what the worker does
    expect(live).to_contain_text(words["ready"], timeout=10_000)
    expect(live).to_contain_text(words["verified"])
    # Ready: no progress bar left looking unfinished beside "Ready" (issue 21).
    expect(page.locator("progress#export-bar")).to_have_count(0)
    assert _axe(page) == []
    link = page.get_by_role("link", name=words["download"])
    link.focus()
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    path = tmp_path / "export.zip"
    info.value.save_as(path)
    zf = zipfile.ZipFile(path)
    data = json.loads(zf.read("export.json"))
    assert data["posts"][0]["id"] == post.id and data["posts"][0]["audit"]["verified"] is True
    summary = zf.read("summary.html").decode()
    assert f'<html lang="{lang}">' in summary
    # The summary is a document of its own: accessible too (offline, no script of ours in it).
    page.set_content(summary)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))", AXE_TAGS)
    assert violations == []
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/exports/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert _axe(page) == []
