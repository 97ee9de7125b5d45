"""Access-to-information exports: the package's content (JSON, CSV, HTML), the audit chain's
verification (true for a seeded post, false after tampering), redaction everywhere, permission
and organisation isolation, expiry and the audit of the export itself."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from tests.workflows import factories as f
from workflows.constants import ExportState
from workflows.exceptions import Conflict, Gone, InvalidInput, NotFound, NotPermitted
from workflows.models import AtipExport, AuditEvent
from workflows.selectors import atip_exports_visible, atip_organisations_exportable
from workflows.services import atip, reviews
from workflows.services.atip import build as atip_build
from workflows.services.inbound import inbound_ingest

from .test_audit import _tamper

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


def _build(demo, **kw) -> AtipExport:
    export = atip.atip_export_request(by=demo.cora, **kw)
    assert atip.atip_export_build(export_id=export.id) == "done"
    return AtipExport.objects.get(id=export.id)


def _open(export: AtipExport) -> tuple[dict, dict[str, list[dict]], str, zipfile.ZipFile]:
    zf = zipfile.ZipFile(atip.export_file(export))
    data = json.loads(zf.read("export.json"))
    tables = {k: list(csv.DictReader(io.StringIO(zf.read(f"csv/{k}.csv").decode()))) for k in atip.KINDS}
    return data, tables, zf.read("summary.html").decode(), zf


def _citizen_thread(demo):
    msg, _ = inbound_ingest(by=demo.dana, channel="dpe-en", external_id="atip-1", author="Jane Citizen",
                            text="Hello, I am Jane Citizen (@janec). Call me at 613-555-0199 about file AB-12345.",
                            language="en")
    msg.author_handle = "janec"
    msg.save(update_fields=["author_handle"])
    from workflows.services import posts

    reply = posts.post_create(author=demo.dana, channels=["dpe-en"], kind="reply", in_reply_to=msg.id,
                              texts={"en": "@janec Thanks Jane Citizen, we will look at file AB-12345."},
                              rules_acknowledged=True)
    return msg, reply


def test_the_package_holds_every_version_decision_publication_and_a_verified_chain(demo):
    post = f.published(demo)
    export = _build(demo, post_id=post.id)
    assert export.state == ExportState.DONE and export.progress == 100
    assert export.chain_verified is True
    assert export.size_bytes > 0 and len(export.sha256) == 64
    assert export.expires_at > timezone.now() + timedelta(hours=71)
    data, tables, summary, zf = _open(export)
    assert sorted(zf.namelist()) == sorted(["export.json", "summary.html", *[f"csv/{k}.csv" for k in atip.KINDS]])
    [rec] = data["posts"]
    assert rec["id"] == post.id and rec["state"] == "published"
    # Every text version in each language: the English draft, then the French translation.
    versions = [(r["number"], sorted(r["texts"])) for r in rec["revisions"]]
    assert versions[0][1] == ["en"] and versions[-1][1] == ["en", "fr"]
    assert any(r["texts"].get("fr") == f.FR for r in rec["revisions"])
    assert {d["reviewer"] for d in rec["decisions"]} == {"rami", "tess", "cora"}
    assert {(p["channel"], p["language"], p["external_id"], p["url"]) for p in rec["publications"]} == {
        ("dpe-en", "en", "x", "https://example.test/1"), ("dpe-fr", "fr", "x", "https://example.test/1")}
    # The audit chain: every event of the post, verified with workflows.services.audit.
    assert rec["audit"]["verified"] is True and rec["audit"]["findings"] == []
    assert [e["seq"] for e in rec["audit"]["events"]] == list(range(1, post.audit_seq + 1))
    assert data["manifest"]["audit_verification"]["verified"] is True
    assert data["manifest"]["counts"]["posts"] == 1
    # One CSV per kind, the same records.
    assert [r["id"] for r in tables["posts"]] == [str(post.id)] and tables["posts"][0]["audit_verified"] == "True"
    assert {r["language"] for r in tables["revisions"]} == {"en", "fr"}
    assert len(tables["decisions"]) == len(rec["decisions"])
    assert {r["url"] for r in tables["publications"]} == {"https://example.test/1"}
    assert len(tables["audit"]) == post.audit_seq
    # The summary: self-contained HTML in the reader's language (cora reads English).
    assert "<script" not in summary and "http-equiv" not in summary
    assert 'src="http' not in summary and "<link" not in summary
    assert "The audit chain of the 1 record in this export verifies" in summary
    assert f.FR in summary


def test_the_summary_is_in_the_readers_language(demo):
    post = f.approved(demo)
    export = _build(demo, post_id=post.id, language="fr")
    _data, _tables, summary, _zf = _open(export)
    assert '<html lang="fr">' in summary
    assert "Exportation d’accès à l’information" in summary
    assert "La chaîne d’audit de l’enregistrement" in summary


@pytest.mark.postgresql("tampers with the trail through PostgreSQL's session_replication_role")
def test_tampering_with_a_post_trail_shows_in_the_export(demo):
    post = f.approved(demo)
    victim = AuditEvent.objects.get(post=post, verb="approved", data__step="Review")
    _tamper("UPDATE workflows_auditevent SET data = %s WHERE id = %s",
            [json.dumps({**victim.data, "comment": "rewritten"}), victim.id])
    export = _build(demo, post_id=post.id)
    assert export.chain_verified is False
    data, tables, summary, _zf = _open(export)
    assert data["posts"][0]["audit"]["verified"] is False
    assert data["posts"][0]["audit"]["findings"][0]["kind"] == "edited_row"
    assert data["manifest"]["audit_verification"]["verified"] is False
    assert tables["posts"][0]["audit_verified"] == "False"
    assert "do not verify" in summary


def test_redaction_removes_names_handles_and_patterns_everywhere(demo):
    msg, reply = _citizen_thread(demo)
    export = _build(demo, inbound_id=msg.id, redact_names=True, redact_handles=True,
                    redact_patterns=[r"\d{3}-\d{3}-\d{4}", r"AB-\d+"])
    _data, _tables, summary, zf = _open(export)
    for name in zf.namelist():
        body = zf.read(name).decode()
        for secret in ("Jane Citizen", "janec", "613-555-0199", "AB-12345"):
            assert secret not in body, (name, secret)
    data = json.loads(zf.read("export.json"))
    assert data["inbound"][0]["author"] == atip.REDACTED
    assert "[REDACTED]" in data["posts"][0]["revisions"][0]["texts"]["en"]
    assert [p["id"] for p in data["posts"]] == [reply.id]
    assert data["manifest"]["redaction"]["replacements"] > 5
    assert "redact_patterns" in data["manifest"]["scope"] and "AB-" not in json.dumps(data["manifest"])
    # Without redaction, the same export names the citizen.
    plain = _build(demo, inbound_id=msg.id)
    assert "Jane Citizen" in zipfile.ZipFile(atip.export_file(plain)).read("export.json").decode()


@pytest.mark.parametrize(("patterns", "code"), [
    (["(unclosed"], "atip.pattern_unclosed"),
    (["x" * (atip.PATTERN_MAX + 1)], "atip.pattern_too_long"),
    ([f"p{i}" for i in range(atip.MAX_PATTERNS + 1)], "atip.too_many_patterns"),
    (["a*"], "atip.pattern_matches_empty"),
    ([r"(a)\1"], "atip.pattern_unsupported"),  # a back-reference: not RE2, refused rather than slow
])
def test_bad_patterns_are_refused_with_a_clear_error_and_nothing_is_recorded(demo, patterns, code):
    with pytest.raises(InvalidInput) as exc:
        atip.atip_export_request(by=demo.cora, redact_patterns=patterns)
    assert exc.value.error_codes()["redact_patterns"][0]["code"] == code
    assert str(exc.value.errors["redact_patterns"][0])  # words, in the reader's language
    assert not AtipExport.objects.exists()


def test_only_people_with_the_export_permission_may_export(demo):
    with pytest.raises(NotPermitted):
        atip.atip_export_request(by=demo.dana)
    assert list(atip_organisations_exportable(user=demo.dana)) == []
    assert [o.slug for o in atip_organisations_exportable(user=demo.cora)] == ["dpe"]
    assert not AtipExport.objects.exists()


def test_organisation_isolation(demo):
    other_post = f.official_draft(demo)  # a dpe post
    omar = demo.omar
    omar.user_permissions.add(Permission.objects.get(codename="export_records"))
    omar = type(omar).objects.get(id=omar.id)  # fresh permission cache
    # omar may export his own agency only: dpe, its channels, posts and messages do not exist for him.
    assert [o.slug for o in atip_organisations_exportable(user=omar)] == ["other"]
    dpe_id = demo.cora.organisation_id
    with pytest.raises(InvalidInput) as exc:
        atip.atip_export_request(by=omar, organisation_id=dpe_id)
    assert exc.value.error_codes()["organisation"][0]["code"] == "atip.organisation_unknown"
    for kw, field in (({"channels": ["dpe-en"]}, "channels"), ({"post_id": other_post.id}, "post")):
        with pytest.raises(InvalidInput) as exc:
            atip.atip_export_request(by=omar, **kw)
        assert field in exc.value.errors
    # His own export holds none of dpe's records, and cora cannot see or download it.
    mine = atip.atip_export_request(by=omar)
    atip.atip_export_build(export_id=mine.id)
    data = json.loads(zipfile.ZipFile(atip.export_file(AtipExport.objects.get(id=mine.id))).read("export.json"))
    assert other_post.id not in [p["id"] for p in data["posts"]]
    assert atip_exports_visible(user=demo.cora).filter(id=mine.id).count() == 0
    with pytest.raises(NotFound):
        atip.atip_export_download(export_id=mine.id, by=demo.cora)


def test_scope_by_channel_and_dates(demo):
    now = timezone.now()
    inside = f.official_draft(demo)
    reply = f.reply_draft(demo)  # dpe-en only
    fr_only = f.official_draft(demo)
    fr_only.channels.set([demo.channel("dpe-fr")])
    export = _build(demo, channels=["dpe-en"], date_from=now - timedelta(minutes=5), date_to=now + timedelta(minutes=5))
    ids = {p["id"] for p in json.loads(zipfile.ZipFile(atip.export_file(export)).read("export.json"))["posts"]}
    assert {inside.id, reply.id} <= ids and fr_only.id not in ids
    past = _build(demo, date_to=now - timedelta(days=1))
    assert past.counts["posts"] == 0
    with pytest.raises(InvalidInput):
        atip.atip_export_request(by=demo.cora, date_from=now, date_to=now - timedelta(days=1))


def test_download_is_audited_and_expires(demo):
    post = f.at_review(demo)
    reviews.post_approve(post_id=post.id, by=demo.rami, comment="Fine.")
    export = atip.atip_export_request(by=demo.cora, post_id=post.id)
    with pytest.raises(Conflict):  # queued: not ready yet
        atip.atip_export_download(export_id=export.id, by=demo.cora)
    atip.atip_export_build(export_id=export.id)
    assert atip.atip_export_build(export_id=export.id) == "skipped"  # a second run does nothing
    got, path = atip.atip_export_download(export_id=export.id, by=demo.cora)
    assert path.exists() and got.downloads == 1
    verbs = list(AuditEvent.objects.filter(chain=f"security:{demo.cora.organisation_id}",
                                           data__target__atip_export=export.id).values_list("verb", flat=True))
    assert verbs == ["atip_export_requested", "atip_export_built", "atip_export_downloaded"]
    requested = AuditEvent.objects.get(verb="atip_export_requested", data__target__atip_export=export.id)
    assert requested.actor_id == demo.cora.id and requested.data["after"]["post"] == post.id
    built = AuditEvent.objects.get(verb="atip_export_built", data__target__atip_export=export.id)
    assert built.data["after"]["counts"]["posts"] == 1
    # Someone else (even with the permission) cannot download it.
    with pytest.raises(NotFound):
        atip.atip_export_download(export_id=export.id, by=demo.dana)
    # Past its expiry: 410 for the download, and beat's sweep deletes the file (audited).
    AtipExport.objects.filter(id=export.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Gone):
        atip.atip_export_download(export_id=export.id, by=demo.cora)
    swept = atip.atip_exports_sweep()
    assert swept["expired"] == [export.id]
    assert not path.exists()
    gone = AtipExport.objects.get(id=export.id)
    assert gone.state == ExportState.EXPIRED and gone.file_path == "" and gone.deleted_at
    assert AuditEvent.objects.filter(verb="atip_export_deleted", data__target__atip_export=export.id).exists()
    with pytest.raises(Gone):
        atip.atip_export_download(export_id=export.id, by=demo.cora)


def test_a_failed_build_is_recorded_with_a_code_not_left_running(demo, monkeypatch):
    export = atip.atip_export_request(by=demo.cora)

    def boom(ids):
        raise RuntimeError("disk full")

    monkeypatch.setattr(atip_build, "_post_records", boom)  # where _build looks it up
    f.official_draft(demo)
    assert atip.atip_export_build(export_id=export.id) == "failed"
    failed = AtipExport.objects.get(id=export.id)
    assert failed.state == ExportState.FAILED and failed.error["code"] == "atip.failed"
    assert AuditEvent.objects.filter(verb="atip_export_failed", data__target__atip_export=export.id).exists()


def test_a_lost_build_is_handed_back_by_the_sweep(demo):
    export = atip.atip_export_request(by=demo.cora)
    AtipExport.objects.filter(id=export.id).update(created_at=timezone.now() - timedelta(minutes=5))
    assert atip.atip_exports_sweep()["requeued"] == [export.id]


def test_without_a_worker_the_embedded_scheduler_builds_what_was_not_built(demo, settings):
    """Embedded mode (no broker): the build normally runs in-process after commit; an export
    whose build never ran (the process stopped) is built by the embedded scheduler's round."""
    from workflows import embedded

    settings.CELERY_BROKER_URL = ""
    post = f.approved(demo)
    export = atip.atip_export_request(by=demo.cora, post_id=post.id)
    AtipExport.objects.filter(id=export.id).update(created_at=timezone.now() - timedelta(minutes=5))
    done = embedded.tick(force=True)
    assert done["atip-exports-sweep"]["requeued"] == [export.id]
    assert AtipExport.objects.get(id=export.id).state == ExportState.DONE
    assert embedded.tick(force=True)["atip-exports-sweep"]["requeued"] == []


@pytest.mark.postgresql("two threads racing for a row lock; SQLite locks the whole database")
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_export_build_it_once(demo, settings):
    """At-least-once delivery: the same task twice at the same moment. The conditional UPDATE
    lets one build; the other does nothing."""
    import threading

    from django.db import connection

    post = f.approved(demo)
    export = atip.atip_export_request(by=demo.cora, post_id=post.id)
    results, barrier = [], threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(atip.atip_export_build(export_id=export.id))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["done", "skipped"]
    assert AuditEvent.objects.filter(verb="atip_export_built", data__target__atip_export=export.id).count() == 1
    assert len(list(settings.EXPORT_ROOT.glob("atip-*.zip"))) == 1
