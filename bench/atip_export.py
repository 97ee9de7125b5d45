"""How long an access-to-information export of BENCH_ATIP_POSTS (10,000) posts takes, and how
big its ZIP is (docs/atip.md, "Size and time").

Creates a throwaway database (test_<DATABASE name>), seeds the demo data, then 10,000 published
official posts with a full history each — two text versions (English, then English and French),
three decisions with comments, two publications with the platform's id and URL, and an audit
chain of eight HMAC-chained events — plus 1,000 citizen messages (each answered by one of the
posts), written with bulk INSERTs (the chains are computed exactly as the services compute them,
so they verify). Then it times `atip_export_request` + `atip_export_build` for the whole
organisation, with and without redaction, and prints the numbers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_x .venv/bin/python bench/atip_export.py
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
# bench/profile.py would shadow the standard library's `profile` (which cProfile imports).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

POSTS = int(os.environ.get("BENCH_ATIP_POSTS", "10000"))
INBOUND = max(1, POSTS // 10)
BATCH = 2000


def _chain(owner, events, keys, new_event):
    """[(verb, actor, from, to, data)] → AuditEvent rows chained like audit_record writes them."""
    from workflows.models import Post

    is_post = isinstance(owner, Post)
    rows, prev, seq = [], "", 0
    for verb, actor, from_state, to_state, data in events:
        seq += 1
        ev = new_event(save=False, chain=f"{'post' if is_post else 'inbound'}:{owner.id}", seq=seq, prev=prev,
                       keys=keys, organisation_id=owner.organisation_id, post_id=owner.id if is_post else None,
                       inbound_id=None if is_post else owner.id, actor_id=actor.id if actor else None, verb=verb,
                       from_state=from_state, to_state=to_state, revision=2 if is_post else None, data=data)
        rows.append(ev)
        prev = ev.hash
    owner.audit_seq, owner.audit_head = seq, prev
    return rows


def seed(n_posts: int, n_inbound: int) -> dict:
    from django.utils import timezone

    from accounts.models import User
    from workflows.constants import PostState, PublicationStatus, Verdict
    from workflows.models import (
        AuditEvent,
        Channel,
        Decision,
        InboundMessage,
        Lane,
        Post,
        PostRevision,
        PostText,
        Publication,
    )
    from workflows.services.audit import _new_event, audit_keys

    users = {u.username: u for u in User.objects.filter(username__in=["dana", "rami", "tess", "cora"])}
    dana, rami, tess, cora = (users[k] for k in ("dana", "rami", "tess", "cora"))
    lane = Lane.objects.get(organisation=dana.organisation, slug="official")
    steps = list(lane.steps.order_by("order"))
    en, fr = Channel.objects.get(slug="dpe-en"), Channel.objects.get(slug="dpe-fr")
    keys = audit_keys()
    now = timezone.now()
    t0 = time.perf_counter()
    msgs = [InboundMessage(organisation_id=dana.organisation_id, channel=en, external_id=f"bench-{i}",
                           author=f"Citizen Number{i}", author_handle=f"citizen{i}", language="en",
                           body=f"Hello, I am Citizen Number{i}. When does the office open? My file is AB-{10000 + i}.",
                           received_at=now - timedelta(minutes=i + 1), status="answered")
            for i in range(n_inbound)]
    InboundMessage.objects.bulk_create(msgs, batch_size=BATCH)
    events = []
    for m in msgs:
        events += _chain(m, [("received", dana, "", "new", {"channel": "dpe-en"}),
                             ("answered", dana, "new", "answered", {})], keys, _new_event)
    InboundMessage.objects.bulk_update(msgs, ["audit_seq", "audit_head"], batch_size=BATCH)
    posts = [Post(organisation_id=dana.organisation_id, lane=lane, kind="post", author=dana, state=PostState.PUBLISHED,
                  revision=2, rules_acknowledged=True, created_at=now - timedelta(seconds=30 * i + 60),
                  submitted_at=now - timedelta(seconds=30 * i + 50), approved_at=now - timedelta(seconds=30 * i + 20),
                  published_at=now - timedelta(seconds=30 * i + 10), updated_at=now,
                  in_reply_to=msgs[i // 10] if i % 10 == 0 and i // 10 < len(msgs) else None)
             for i in range(n_posts)]
    Post.objects.bulk_create(posts, batch_size=BATCH)
    Post.channels.through.objects.bulk_create(
        [Post.channels.through(post_id=p.id, channel_id=c.id) for p in posts for c in (en, fr)], batch_size=BATCH * 2)
    texts, revisions, decisions, pubs = [], [], [], []
    for p in posts:
        body_en = f"Post {p.id}: our office at 123 Main Street reopens on Monday at 9:00. Details: https://www.canada.ca/en.html"
        body_fr = f"Publication {p.id} : notre bureau du 123, rue Main rouvre lundi à 9 h. Détails : https://www.canada.ca/fr.html"
        texts += [PostText(post=p, language="en", body=body_en, updated_by=dana),
                  PostText(post=p, language="fr", body=body_fr, updated_by=tess)]
        revisions += [PostRevision(post=p, number=1, texts={"en": body_en}, created_by=dana, created_at=p.created_at),
                      PostRevision(post=p, number=2, texts={"en": body_en, "fr": body_fr}, created_by=tess,
                                   created_at=p.submitted_at)]
        decisions += [Decision(post=p, step=steps[0], revision=1, text_versions={"en": 1}, reviewer=rami,
                               verdict=Verdict.APPROVE, comment="Clear and accurate. Go ahead."),
                      Decision(post=p, step=steps[1], revision=2, text_versions={"en": 1, "fr": 1}, reviewer=tess,
                               verdict=Verdict.APPROVE, comment="Traduction faite."),
                      Decision(post=p, step=steps[2], revision=2, text_versions={"en": 1, "fr": 1}, reviewer=cora,
                               verdict=Verdict.APPROVE, comment="Signed off for both languages.")]
        for chan, lang, body in ((en, "en", body_en), (fr, "fr", body_fr)):
            pubs.append(Publication(post=p, channel=chan, language=lang, status=PublicationStatus.SENT,
                                    idempotency_key=f"bench-{p.id}-{chan.id}-{lang}", body=body,
                                    external_id=f"1{p.id:09d}{lang}", url=f"https://social.example/@dpe/{p.id}{lang}",
                                    attempts=1, sent_at=p.published_at))
        events += _chain(p, [
            ("created", dana, "", "draft", {"texts": {"en": body_en}}),
            ("submitted", dana, "draft", "in_review", {"step": "Review"}),
            ("approved", rami, "in_review", "in_review", {"step": "Review", "comment": "Clear and accurate. Go ahead."}),
            ("translated", tess, "in_review", "in_review", {"language": "fr", "text": body_fr}),
            ("approved", tess, "in_review", "in_review", {"step": "Translation", "comment": "Traduction faite."}),
            ("approved", cora, "in_review", "approved", {"step": "Sign-off", "comment": "Signed off for both languages."}),
            ("publishing", None, "approved", "publishing", {}),
            ("published", None, "publishing", "published", {"urls": [f"https://social.example/@dpe/{p.id}en"]}),
        ], keys, _new_event)
    PostText.objects.bulk_create(texts, batch_size=BATCH)
    PostRevision.objects.bulk_create(revisions, batch_size=BATCH)
    Decision.objects.bulk_create(decisions, batch_size=BATCH)
    Publication.objects.bulk_create(pubs, batch_size=BATCH)
    AuditEvent.objects.bulk_create(events, batch_size=BATCH)
    Post.objects.bulk_update(posts, ["audit_seq", "audit_head"], batch_size=BATCH)
    return {"posts": len(posts), "inbound": len(msgs), "audit_events": len(events),
            "seed_seconds": round(time.perf_counter() - t0, 1)}


def run_export(label: str, **kw) -> dict:
    from accounts.models import User
    from workflows.models import AtipExport
    from workflows.services import atip

    cora = User.objects.get(username="cora")
    t0 = time.perf_counter()
    export = atip.atip_export_request(by=cora, **kw)
    if os.environ.get("BENCH_ATIP_PROFILE"):  # where the time goes: the top 25 functions
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            atip.atip_export_build(export_id=export.id)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        atip.atip_export_build(export_id=export.id)
    seconds = time.perf_counter() - t0
    export = AtipExport.objects.get(id=export.id)
    assert export.state == "done", export.error
    import zipfile

    with zipfile.ZipFile(atip.export_file(export)) as zf:
        unpacked = sum(i.file_size for i in zf.infolist())
    return {"label": label, "seconds": round(seconds, 1), "zip_mb": round(export.size_bytes / 1e6, 1),
            "unpacked_mb": round(unpacked / 1e6, 1), "verified": export.chain_verified, "counts": export.counts}


def main() -> None:
    django.setup()
    from django.conf import settings
    from django.db import connection

    from workflows.demo import seed_demo

    settings.EXPORT_ROOT = Path(tempfile.mkdtemp(prefix="bench-atip-"))
    # Its own throwaway database: the default test name is the test suite's, which must not be
    # dropped under a running suite (tests/test_bench_harness.py runs this in `make test`).
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_atip_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        seed_demo()
        seeded = seed(POSTS, INBOUND)
        print(f"seeded {seeded}", flush=True)
        results = [
            run_export("whole organisation"),
            run_export("whole organisation, names + handles + 2 patterns redacted", redact_names=True,
                       redact_handles=True, redact_patterns=[r"AB-\d+", r"\d+ Main Street"]),
        ]
        for r in results:
            print(f"{r['label']}: {r['seconds']} s, ZIP {r['zip_mb']} MB ({r['unpacked_mb']} MB unpacked), "
                  f"chains verified: {r['verified']}, counts {r['counts']}", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the process (seeding included): {peak:.0f} MB")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
