"""`make bench`: every measurement of issue 14 beside its reference, in one run.

Seeds its own database (bench_<DATABASE name>: demo data + 100k posts, ~10k permission rows,
several organisations, by INSERT … SELECT generate_series), starts real Celery workers on REDIS_URL
and a local HTTP endpoint, then measures:

- reply: API submit → received by the endpoint through a real worker, p50/p95, beside a bare
  Celery hop (`.delay()` → worker → POST) interleaved in the same run, and beside the same reply
  path with the commit wake-up off (OUTBOX_LISTEN=false: beat only, as before issue 14);
- approve: statements and median on PostgreSQL, beside the raw floor transaction (6 statements);
  Wagtail's workflow approve on the same PostgreSQL server when bench/wagtail_approve.py could be
  run in its own virtualenv (`make bench` builds it in var/bench-wagtail, never in .venv);
- HTTP approve: statements, p50/p95 of POST /api/v1/posts/{id}/approve/ with its response (test
  client, full middleware, token authentication), beside a bare DRF endpoint with the same
  authentication running the floor transaction (bench/floor.py), interleaved;
- lists at 100k posts with 1,000 visible: p50/p95 and statements of each list endpoint and page;
- publishing: publications/s of one worker process to the endpoint, exactly once per key, beside
  bare `.delay()` + POST on the same worker.

Prints a table of figures and ratios and appends it (date, machine, commit) to BENCHMARKS.md.
Benchmarks are not tests: nothing here fails on timing. BENCH_QUICK=1 runs fewer samples.
Knobs for iterating on one path: BENCH_ONLY=publishing (comma-separated phases),
BENCH_PUBLICATIONS, BENCH_REPLIES, BENCH_LIST_RUNS, BENCH_POSTS (seeded posts; the lists need the
full 100k to mean anything), BENCH_APPEND=0 (print the table, leave BENCHMARKS.md alone),
BENCH_PROFILE=1 with BENCH_LABEL=before|after (py-spy profiles in var/profiles/).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.profile import ENABLED as PROFILING  # noqa: E402
from bench.profile import OUT as PROFILES  # noqa: E402
from bench.profile import sampled, summarise  # noqa: E402

QUICK = bool(os.environ.get("BENCH_QUICK"))
N_REPLY = int(os.environ.get("BENCH_REPLIES", "15" if QUICK else "40"))
N_REPLY_BEAT = int(os.environ.get("BENCH_REPLIES_BEAT", "5" if QUICK else "10"))
N_APPROVE = int(os.environ.get("BENCH_APPROVES", "15" if QUICK else "40"))
N_PUBLISH = int(os.environ.get("BENCH_PUBLICATIONS", "100" if QUICK else "300"))
LIST_RUNS = int(os.environ.get("BENCH_LIST_RUNS", "10" if QUICK else "30"))
SECRET_ENV = "PARLEY_SECRET_BENCH_CHANNEL"
LABEL = os.environ.get("BENCH_LABEL", "after")
#: Comma-separated phases to run (default: all): approve, http_approve, lists, reply, publishing, wagtail.
ONLY = {p for p in os.environ.get("BENCH_ONLY", "").split(",") if p}
#: Iteration knobs: fewer seeded posts (the lists need the full 100k to mean anything), and
#: BENCH_APPEND=0 to print the table without appending it to BENCHMARKS.md.
N_POSTS = int(os.environ.get("BENCH_POSTS", "100000"))
APPEND = os.environ.get("BENCH_APPEND", "1") != "0"


def wanted(phase: str) -> bool:
    return not ONLY or phase in ONLY
QUEUES = ("celery", "notify", "publish")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- the worker ---------------------------------------------------------------------------------

def database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def flush_queues() -> None:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(*QUEUES, "unacked", "unacked_index", "unacked_mutex", *client.keys("_kombu.binding.*"))


class Worker:
    def __init__(self, *, queues: str = "celery,notify,publish", concurrency: int = 2, env: dict | None = None,
                 name: str = "w", beat: bool = True):
        self.queues, self.concurrency, self.extra, self.name, self.beat = queues, concurrency, env or {}, name, beat
        self.proc: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / f"bench-worker-{name}.log"

    def start(self) -> Worker:
        self.log_path.parent.mkdir(exist_ok=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(),
               "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "REDIS_URL": settings.REDIS_URL,
               SECRET_ENV: "bench-secret", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), **self.extra}
        beat = ["-B", "-s", str(ROOT / "var" / f"bench-beat-{self.name}")] if self.beat else []
        cmd = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", *beat,
               "-Q", self.queues, "-c", str(self.concurrency),
               "-I", "bench.celery_tasks", "-l", "info", "-n", f"bench-{self.name}-{os.getpid()}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while b" ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(1.0)  # the outbox listener connects once the worker is ready
        return self

    def stop(self) -> None:
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


# --- setup ------------------------------------------------------------------------------------

def setup_channels(endpoint) -> None:
    from workflows.models import Channel

    os.environ[SECRET_ENV] = "bench-secret"
    config = {"url": f"{endpoint.url}/publish", "secret_env": SECRET_ENV}
    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(adapter="webhook", adapter_config=config)


def api_client(username: str):
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.services import token_issue

    _, key = token_issue(user=User.objects.get(username=username))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def reply_draft(client, i: int) -> int:
    response = client.post("/api/v1/posts/", {"kind": "reply", "channels": ["dpe-en"], "rules_acknowledged": True,
                                              "texts": {"en": f"Thank you for asking: the office opens at 9:00 ({i})."}},
                           format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- measurements -----------------------------------------------------------------------------

def measure_reply(endpoint, *, n: int, with_hop: bool) -> dict:
    """Interleaved: reply submit → arrival, and (with_hop) a bare Celery hop → arrival."""
    from bench.celery_tasks import bench_hop
    from workflows.models import Channel
    from workflows.services.publishing import idempotency_key

    client = api_client("dana")
    chan = Channel.objects.get(slug="dpe-en")
    reply_ms, hop_ms, lost = [], [], 0
    for i in range(n):
        post_id = reply_draft(client, i)
        key = idempotency_key(post_id=post_id, channel_id=chan.id, language="en")
        t0 = time.perf_counter()
        response = client.post(f"/api/v1/posts/{post_id}/submit/", {}, format="json")
        assert response.status_code == 200, response.content
        arrived = endpoint.wait_for(key, timeout=30)
        if arrived is None:
            lost += 1
        else:
            reply_ms.append((arrived - t0) * 1000)
        if with_hop:
            hop_key = f"hop-{os.getpid()}-{i}-{time.time_ns()}"
            t0 = time.perf_counter()
            bench_hop.apply_async(args=[f"{endpoint.url}/hop", hop_key], queue="publish")
            arrived = endpoint.wait_for(hop_key, timeout=30)
            if arrived is not None:
                hop_ms.append((arrived - t0) * 1000)
        time.sleep(0.05)
    return {"reply": reply_ms, "hop": hop_ms, "lost": lost}


def posts_at_approve(n: int, *, tag: str = "") -> list[int]:
    """n fresh posts of dana's, submitted: each at its review step, for rami to approve."""
    from accounts.models import User
    from workflows.services import posts as post_services

    dana = User.objects.get(username="dana")
    ids = []
    for i in range(n):
        post = post_services.post_create(author=dana, channels=["dpe-en", "dpe-fr"], kind="post",
                                         texts={"en": f"The office will be closed on Monday ({tag}{i})."},
                                         rules_acknowledged=True)
        ids.append(post_services.post_submit(post_id=post.id, by=dana).id)
    return ids


def measure_approve(*, n: int) -> dict:
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from bench.floor import floor_transaction
    from workflows.services import reviews

    rami = User.objects.get(username="rami")
    ids = posts_at_approve(n)
    approve_ms, floor_ms = [], []
    with CaptureQueriesContext(connection) as ctx:
        reviews.post_approve(post_id=ids[0], by=rami)
    statements = len(ctx.captured_queries)
    floor_statements = 0
    for post_id in ids[1:]:
        t0 = time.perf_counter()
        reviews.post_approve(post_id=post_id, by=rami)
        approve_ms.append((time.perf_counter() - t0) * 1000)
        # The floor: the same row lock and writes, hand-written (6 statements with BEGIN/COMMIT).
        with CaptureQueriesContext(connection) as fctx:
            t0 = time.perf_counter()
            floor_transaction(post_id=post_id, reviewer_id=rami.id, organisation_id=rami.organisation_id)
            floor_ms.append((time.perf_counter() - t0) * 1000)
        floor_statements = len(fctx.captured_queries)
    return {"approve": approve_ms, "floor": floor_ms, "statements": statements, "floor_statements": floor_statements}


def measure_http_approve(*, n: int) -> dict:
    """Interleaved, through the test client (full middleware, `Authorization: Token …` as an
    integration sends it, the response read): POST /api/v1/posts/{id}/approve/ on a fresh post at
    its review step, then the bare DRF floor endpoint (bench/floor.py) on the same post with the
    same client and token. The first post counts statements (not timed); the token's use is
    stamped once before (at most every few minutes, as in tests/api/test_approve_http_statements.py)."""
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    ids = posts_at_approve(n + 1, tag="http ")
    approve_ms, floor_ms = [], []
    with override_settings(ROOT_URLCONF="bench.floor"):
        client = api_client("rami")
        assert client.get("/api/v1/me/").status_code == 200  # stamps the token's last use

        def approve(post_id: int):
            response = client.post(f"/api/v1/posts/{post_id}/approve/", {}, format="json")
            assert response.status_code == 200, response.content
            return response

        def floor(post_id: int):
            response = client.post(f"/api/v1/bench-floor/{post_id}/", {}, format="json")
            assert response.status_code == 200, response.content
            return response

        # Counted at once: each request that follows clears the connection's query log.
        with CaptureQueriesContext(connection) as ctx:
            size = len(approve(ids[0]).content)
        statements = len(ctx.captured_queries)
        with CaptureQueriesContext(connection) as fctx:
            floor(ids[0])
        floor_statements = len(fctx.captured_queries)
        if os.environ.get("BENCH_GC", "production") != "default":
            from config.gunicorn import gc_tune

            gc_tune()  # both paths requested once: the process collects as a web worker does (lists.py)
        for post_id in ids[1:]:
            t0 = time.perf_counter()
            approve(post_id).content  # noqa: B018 (the body is what the client pays for)
            approve_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            floor(post_id).content  # noqa: B018
            floor_ms.append((time.perf_counter() - t0) * 1000)
    return {"approve": approve_ms, "floor": floor_ms, "statements": statements, "floor_statements": floor_statements,
            "bytes": size}


def measure_publishing(endpoint, *, n: int) -> dict:
    """One worker process (-c 1, publish queue only): n replies approved while it was stopped,
    then started; publications/s from the first arrival to the last. Then n bare hops on it."""
    from bench.celery_tasks import bench_hop
    from workflows.models import Channel
    from workflows.services.publishing import idempotency_key

    flush_queues()
    client = api_client("dana")
    chan = Channel.objects.get(slug="dpe-en")
    keys = []
    for i in range(n):
        post_id = reply_draft(client, 10_000 + i)
        response = client.post(f"/api/v1/posts/{post_id}/submit/", {}, format="json")
        assert response.status_code == 200, response.content
        keys.append(idempotency_key(post_id=post_id, channel_id=chan.id, language="en"))
    endpoint.reset()
    # The publish queue only (as the Procfile runs it): beat's sweeps (SLA, spot-checks) belong to
    # the notifier. The bench relays once itself, so code without the commit wake-up runs too.
    worker = Worker(queues="publish", concurrency=1, name="publish").start()
    from workflows.services.relay import relay_until_empty

    relay_until_empty()
    try:
        with sampled(f"{LABEL}-publishing-worker", worker.proc.pid, children=True):
            done = endpoint.wait_count(n, timeout=600)
        time.sleep(1.0)  # let any duplicate show itself
        with endpoint.lock:
            times = sorted(endpoint.arrivals[k] for k in keys if k in endpoint.arrivals)
            counts = dict(endpoint.counts)
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        repeated = sum(1 for k in keys if counts.get(k, 0) > 1)
        missing = sum(1 for k in keys if counts.get(k, 0) == 0)
        endpoint.reset()
        hop_keys = [f"bulk-{os.getpid()}-{i}-{time.time_ns()}" for i in range(n)]
        for k in hop_keys:
            bench_hop.apply_async(args=[f"{endpoint.url}/hop", k], queue="publish")
        endpoint.wait_count(n, timeout=300)
        with endpoint.lock:
            hop_times = sorted(endpoint.arrivals.values())
        hop_rate = (len(hop_times) - 1) / (hop_times[-1] - hop_times[0]) if len(hop_times) > 1 else 0.0
    finally:
        worker.stop()
    return {"rate": rate, "hop_rate": hop_rate, "arrivals": len(times), "repeated": repeated, "missing": missing,
            "complete": done}


def wagtail_approve() -> dict | None:
    """Run bench/wagtail_approve.py in var/bench-wagtail (its own virtualenv) on the same server."""
    python = ROOT / "var" / "bench-wagtail" / "bin" / "python"
    if not python.exists():
        return None
    db = settings.DATABASES["default"]
    env = {**os.environ, "WAGTAIL_BENCH_DB": f"{db['NAME']}_wagtail", "PGHOST": db.get("HOST") or "127.0.0.1",
           "PGPORT": str(db.get("PORT") or 5432), "PGUSER": db.get("USER") or "postgres",
           "PGPASSWORD": db.get("PASSWORD") or "", "BENCH_APPROVES": str(N_APPROVE)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run([str(python), str(ROOT / "bench" / "wagtail_approve.py")], env=env, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        log(f"Wagtail approve failed:\n{proc.stderr[-2000:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the table --------------------------------------------------------------------------------

def fmt_ms(v: float) -> str:
    return f"{v:,.1f} ms" if v < 100 else f"{v:,.0f} ms"


def build_table(r: dict) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    empty: dict = {"reply": [], "hop": []}
    rep, beat = r.get("reply", empty), r.get("reply_beat", empty)["reply"]
    hop = rep["hop"]
    if rep["reply"] and hop:
        p50, p95 = statistics.median(rep["reply"]), pct(rep["reply"], 0.95)
        h50, h95 = statistics.median(hop), pct(hop, 0.95)
        rows.append(("reply, API submit → local endpoint (worker, woken on commit)",
                     f"p50 {fmt_ms(p50)}, p95 {fmt_ms(p95)}", f"bare Celery hop: p50 {fmt_ms(h50)}, p95 {fmt_ms(h95)}",
                     f"{p50 / h50:.1f}×", f"p50 ≤ 5× hop: {'✅' if p50 <= 5 * h50 else '❌'}; p95 ≤ 50 ms: "
                     f"{'✅' if p95 <= 50 else '❌'}"))
    if beat:
        rows.append(("reply, same path with the wake-up off (beat only: before)",
                     f"p50 {fmt_ms(statistics.median(beat))}, p95 {fmt_ms(pct(beat, 0.95))}", "",
                     f"{statistics.median(beat) / statistics.median(rep['reply']):.1f}× the woken p50"
                     if rep["reply"] else "", ""))
    wag = r.get("wagtail")
    if "approve" in r:
        rows += _approve_rows(r["approve"], wag)
    if "http_approve" in r:
        rows += _http_approve_rows(r["http_approve"])
    for item in r.get("lists", []):
        rows.append((f"{item['what']}, 100k posts, 1,000 visible",
                     f"p50 {fmt_ms(item['p50_ms'])}, p95 {fmt_ms(item['p95_ms'])}",
                     f"{item['statements']} statements, {item['bytes'] // 1024} KB", "",
                     f"p95 ≤ 50 ms: {'✅' if item['p95_ms'] <= 50 else '❌'}"))
    if "publishing" in r:
        rows += _publishing_rows(r["publishing"])
    return rows


def _approve_rows(ap: dict, wag: dict | None) -> list[tuple[str, str, str, str, str]]:
    rows = []
    a50, f50 = statistics.median(ap["approve"]), statistics.median(ap["floor"])
    rows.append(("approve, SQL statements (BEGIN/COMMIT included)", str(ap["statements"]),
                 f"floor {ap['floor_statements']}" + (f"; Wagtail {wag['statements']} ({wag['statements_last']} at the"
                                                       " last step)" if wag else ""), "",
                 f"≤ 10: {'✅' if ap['statements'] <= 10 else '❌'}"))
    rows.append(("approve, median, PostgreSQL", fmt_ms(a50),
                 f"floor {fmt_ms(f50)}" + (f"; Wagtail {fmt_ms(wag['median_ms'])}" if wag else "; Wagtail: not run"),
                 f"{a50 / f50:.1f}× floor" + (f"; Wagtail/Parley {wag['median_ms'] / a50:.1f}×" if wag else ""),
                 f"≤ 3× floor: {'✅' if a50 <= 3 * f50 else '❌'}" + (
                     f"; ≥ 5× faster than Wagtail: {'✅' if wag['median_ms'] >= 5 * a50 else '❌'}" if wag else "")))
    return rows


def _http_approve_rows(ha: dict) -> list[tuple[str, str, str, str, str]]:
    a50, f50 = statistics.median(ha["approve"]), statistics.median(ha["floor"])
    return [
        ("HTTP approve, SQL statements (token authentication, service, response)", str(ha["statements"]),
         f"bare DRF floor {ha['floor_statements']}", "", f"≤ 12: {'✅' if ha['statements'] <= 12 else '❌'}"),
        (f"HTTP approve, POST /api/v1/posts/{{id}}/approve/ with its {ha['bytes'] / 1024:.1f} KB response",
         f"p50 {fmt_ms(a50)}, p95 {fmt_ms(pct(ha['approve'], 0.95))}",
         f"bare DRF floor (same token, auth, permissions): p50 {fmt_ms(f50)}, p95 {fmt_ms(pct(ha['floor'], 0.95))}",
         f"{a50 / f50:.1f}× the bare DRF floor (p50)",
         f"HTTP approve ≤ 3× the bare DRF floor: {'✅' if a50 <= 3 * f50 else '❌'}"),
    ]


def _publishing_rows(pub: dict) -> list[tuple[str, str, str, str, str]]:
    rows = []
    rows.append(("publications per second, one worker process", f"{pub['rate']:,.0f}/s",
                 f"bare .delay() + POST: {pub['hop_rate']:,.0f}/s",
                 ("" if not pub["rate"] or not pub["hop_rate"] else f"{pub['hop_rate'] / pub['rate']:.1f}× slower"
                  if pub["hop_rate"] >= pub["rate"] else f"{pub['rate'] / pub['hop_rate']:.1f}× faster"),
                 f"≥ 200/s: {'✅' if pub['rate'] >= 200 else '❌'}"))
    rows.append((f"exactly once ({pub['arrivals']:,} arrivals)", f"{pub['repeated']} repeated keys, "
                 f"{pub['missing']} missing", "", "", "✅" if not pub["repeated"] and not pub["missing"] else "❌"))
    return rows


def render(rows, meta: dict) -> str:
    lines = [f"### {meta['date']} — commit {meta['commit']}", "",
             f"Machine: {meta['machine']}. Data: {meta['data']}. Samples: {meta['samples']}.", "",
             "| what | Parley | reference in the same run | ratio | target |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    return "\n".join(lines) + "\n"


def machine() -> str:
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0].split()[0]
    try:
        import redis

        rv = redis.Redis.from_url(settings.CELERY_BROKER_URL).info("server")["redis_version"]
    except Exception:  # noqa: BLE001
        rv = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at start, "
            f"Python {platform.python_version()}, PostgreSQL {pg}, Redis {rv}")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def main() -> None:
    from django.core.management import call_command

    from bench.endpoint import Endpoint
    from bench.lists import run_all
    from workflows.demo import seed_demo
    from workflows.scale import Scale, seed_scale

    if not settings.CELERY_BROKER_URL:
        sys.exit("make bench needs REDIS_URL (a real worker is part of the measurements)")
    started = time.monotonic()
    settings.ALLOWED_HOSTS = ["*"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    endpoint = Endpoint().start()
    results: dict = {}
    try:
        seed_demo()
        t0 = time.monotonic()
        made = seed_scale(Scale(posts=N_POSTS))
        log(f"seeded {made} in {time.monotonic() - t0:.1f} s")
        call_command("check", verbosity=0)
        setup_channels(endpoint)
        flush_queues()

        if wanted("approve"):
            log("approve: Parley and the floor transaction, interleaved")
            with sampled(f"{LABEL}-approve"):
                results["approve"] = measure_approve(n=N_APPROVE)
        if wanted("http_approve"):
            log("HTTP approve beside a bare DRF endpoint running the floor transaction, interleaved")
            with sampled(f"{LABEL}-http-approve"):
                results["http_approve"] = measure_http_approve(n=N_APPROVE)
        if wanted("lists"):
            log("lists at scale")
            with sampled(f"{LABEL}-lists"):
                results["lists"] = run_all(LIST_RUNS)
        if wanted("reply"):
            log("reply latency: woken on commit, beside a bare Celery hop")
            if os.environ.get("BENCH_GC", "production") != "default":
                from config.gunicorn import gc_tune

                gc_tune()  # the bench process serves the submit as a web worker would (lists.py)
            # As the Procfile runs them: a publish worker, and a notifier (notifications,
            # webhooks, beat's periodic jobs) beside it; each listens for the outbox NOTIFY.
            notifier = Worker(name="reply-notify", queues="celery,notify", concurrency=1).start()
            worker = Worker(name="reply", queues="publish", concurrency=2, beat=False).start()
            try:
                with sampled(f"{LABEL}-reply-worker", worker.proc.pid, children=True):
                    results["reply"] = measure_reply(endpoint, n=N_REPLY, with_hop=True)
            finally:
                worker.stop()
                notifier.stop()
            log("reply latency: the wake-up off (beat only)")
            worker = Worker(name="beat", env={"OUTBOX_LISTEN": "false"}).start()
            try:
                results["reply_beat"] = measure_reply(endpoint, n=N_REPLY_BEAT, with_hop=False)
            finally:
                worker.stop()
            flush_queues()
        if wanted("publishing"):
            log("publishing throughput: one worker process")
            results["publishing"] = measure_publishing(endpoint, n=N_PUBLISH)
        if wanted("wagtail"):
            log("Wagtail's workflow approve (its own virtualenv)")
            results["wagtail"] = wagtail_approve()
            if results["wagtail"] is None:
                log("Wagtail not measured (run `make bench` to build var/bench-wagtail)")
        where = machine()
    finally:
        endpoint.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        flush_queues()
    meta = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(), "machine": where,
            "data": f"{made['posts']:,} posts, {made['permission_rows']:,} permission rows, "
                    f"{made['organisations']} organisations, {made['inbound']:,} inbound messages",
            "samples": (f"phases {', '.join(sorted(ONLY))}; " if ONLY else "") + f"{N_REPLY} replies + hops interleaved, {N_REPLY_BEAT} beat-only replies, {N_APPROVE} approvals,"
                       f" {N_APPROVE} HTTP approvals + bare DRF floors interleaved, {LIST_RUNS} requests per list, {N_PUBLISH} publications"}
    table = render(build_table(results), meta)
    print()
    print(table)
    out = ROOT / "BENCHMARKS.md"
    if APPEND:
        if not out.exists():
            out.write_text("# Benchmarks\n\nAppended by `make bench` (see bench/run.py).\n\n")
        with out.open("a") as fh:
            fh.write("\n" + table)
    raw = ROOT / "var" / "bench-last.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"meta": meta, "results": {k: v for k, v in results.items() if k != "lists"},
                               "lists": [{k: v for k, v in i.items() if k != "sql"} for i in results.get("lists", [])]},
                              default=str, indent=1))
    if PROFILING:
        report = []
        for path in sorted(PROFILES.glob(f"{LABEL}-*.txt")):
            report.append(f"#### {path.stem}\n```\n{summarise(path)}\n```\n")
        (PROFILES / f"{LABEL}-summary.md").write_text("\n".join(report))
        log(f"profiles summarised in {PROFILES / (LABEL + '-summary.md')}")
    log(f"done in {time.monotonic() - started:.0f} s; " + ("table appended to BENCHMARKS.md" if APPEND else "BENCHMARKS.md left as it was (BENCH_APPEND=0)"))


if __name__ == "__main__":
    main()
