"""Publishing a post with 4 images: time to live on the platform, beside the same post without
media (issue 22; docs/publishing.md, "Media").

Creates a throwaway database (bench_media_<DATABASE name>), seeds the demo data, starts the
local Mastodon-API server (tests/platforms/mastodon_server.py, a real HTTP server on 127.0.0.1)
and points the English channel at it. Then, interleaved so both see the same machine, it
publishes BENCH_MEDIA_POSTS (20; 4 in quick mode) conversation replies of each kind through
Parley's delivery (`post_deliver`: preflight with the instance's limits, claim, send, record,
settle) and times each from the start of delivery until the status is on the server — for the
media post, its four images uploaded (each with its alt text and focal point), processed and
attached. The images are four 1200×900 JPEGs of about 0.5 MB (random pixels, so they do not
shrink). The server processes an upload at once (Mastodon takes longer for large files: add
BENCH_MEDIA_PROCESSING seconds to see the polling's cost).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_x .venv/bin/python bench/media_publish.py

Benchmarks are not tests: nothing here fails on timing; it fails only if a status is missing
or carries the wrong media.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/profile.py would shadow the standard library's `profile` (which cProfile imports).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")

QUICK = bool(os.environ.get("BENCH_QUICK"))
N = int(os.environ.get("BENCH_MEDIA_POSTS", "4" if QUICK else "20"))
PROCESSING = float(os.environ.get("BENCH_MEDIA_PROCESSING", "0"))
TOKEN_ENV = "PARLEY_SECRET_BENCH_MEDIA_MASTODON"
ALTS = ["A map of the three new passport offices.", "The ribbon is cut at the Gatineau office.",
        "A bar chart: wait times fell from 20 to 5 days.", "Staff greet the first visitors."]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def images(demo_user) -> list:
    """Four stored JPEGs of ~0.5 MB (random pixels, seeded), as the upload service stores them."""
    import hashlib
    import io
    import random

    from django.core.files.base import ContentFile
    from PIL import Image

    from workflows.models import Medium

    out = []
    for i in range(4):
        rng = random.Random(i)
        img = Image.frombytes("RGB", (1200, 900), bytes(rng.getrandbits(8) for _ in range(1200 * 900 * 3)))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=60)
        data = buf.getvalue()
        medium = Medium(organisation=demo_user.organisation, uploaded_by=demo_user, kind="image",
                        content_type="image/jpeg", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                        width=1200, height=900, original_name=f"bench-{i}.jpg")
        medium.file.save("bench", ContentFile(data), save=False)
        medium.save()
        out.append(medium)
    return out


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from workflows.demo import seed_demo

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="bench-media-")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_media_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    from tests.platforms.mastodon_server import MastodonServer

    server = MastodonServer().start()
    try:
        seed_demo()
        run(server)
    finally:
        server.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(server) -> None:
    from django.conf import settings

    from accounts.models import User
    from workflows.channels import mastodon as adapter_module
    from workflows.models import Channel, PostMedium
    from workflows.services.delivery import post_deliver
    from workflows.services.posts import post_create, post_submit

    server.add_account("dpe", "bench-token", "Department of Public Examples")
    server.media_processing = PROCESSING
    os.environ[TOKEN_ENV] = "bench-token"
    settings.MASTODON_MEDIA_POLL_INTERVAL = 0.05
    adapter_module._local.__dict__.pop("clients", None)
    Channel.objects.filter(slug="dpe-en").update(adapter="mastodon", adapter_config={
        "api_base_url": server.url, "token_env": TOKEN_ENV, "visibility": "public"})
    dana = User.objects.get(username="dana")
    media = images(dana)
    size_kb = sum(m.size for m in media) / 1024
    timings: dict[str, list[float]] = {"4 images": [], "no media": []}

    def publish(i: int, kind: str) -> None:
        post = post_create(author=dana, channels=["dpe-en"], kind="reply", rules_acknowledged=True,
                           texts={"en": f"The new offices are open ({kind}, {i})."})
        post = post_submit(post_id=post.id, by=dana)  # a conversation reply: approved, publishing
        if kind == "4 images":
            PostMedium.objects.bulk_create([PostMedium(post=post, medium=m, position=n, alt_text_en=ALTS[n],
                                                       alt_text_fr=ALTS[n], focus_x=0.1, focus_y=-0.2)
                                            for n, m in enumerate(media)])
        seen = len(server.statuses_of("dpe"))
        t0 = time.perf_counter()
        state = post_deliver(post_id=post.id)
        took = time.perf_counter() - t0
        statuses = server.statuses_of("dpe")
        assert state == "published" and len(statuses) == seen + 1, (state, len(statuses))
        attached = statuses[-1]["media_ids"]
        assert len(attached) == (4 if kind == "4 images" else 0), attached
        if attached:
            assert [server.media[m]["description"] for m in attached] == ALTS
        timings[kind].append(took * 1000)

    publish(-1, "no media")  # warm the client, the instance's limits and the statement cache
    publish(-1, "4 images")
    timings = {k: [] for k in timings}
    for i in range(N):
        for kind in (("4 images", "no media") if i % 2 else ("no media", "4 images")):
            publish(i, kind)
    with_media, without = timings["4 images"], timings["no media"]
    p50m, p50n = statistics.median(with_media), statistics.median(without)
    print(f"\nPublishing a post with 4 images ({size_kb:.0f} kB in all) to the local Mastodon-API server, "
          f"n={N} each, interleaved; server processing {PROCESSING:g} s per upload")
    print("| | p50 | p95 | min |\n|---|---|---|---|")
    print(f"| 4 images: delivery start → status live with its media | {p50m:.0f} ms | {pct(with_media, 0.95):.0f} ms "
          f"| {min(with_media):.0f} ms |")
    print(f"| the same post without media (reference) | {p50n:.0f} ms | {pct(without, 0.95):.0f} ms "
          f"| {min(without):.0f} ms |")
    print(f"media cost: {p50m - p50n:.0f} ms at p50 ({p50m / p50n:.1f}x the post without media); "
          f"{(p50m - p50n) / 4:.0f} ms per image")


if __name__ == "__main__":
    main()
