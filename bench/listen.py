"""Listening cycle time for many channels against the local Mastodon-API server (issue 10).

`python bench/listen.py` (or `make bench-listen`): starts tests/platforms/mastodon_server.py in
its own process with BENCH_CHANNELS accounts (default 500), creates one listening channel per
account in a throwaway database, and times a full polling cycle — every channel's lease, its
notifications since the cursor, the inbox writes, the cursor and lease release — run by
BENCH_POLLERS concurrent pollers (default 8, standing in for worker processes taking the
fanned-out tasks), for:
  1. the first poll (each account has BENCH_MENTIONS mentions waiting),
  2. one new mention per account,
  3. nothing new (the steady state).
`run_listen_bench()` can be called by another bench that already set a database up.
Prints numbers, asserts nothing but that every mention reached the inbox exactly once.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

CHANNELS = int(os.environ.get("BENCH_CHANNELS", "500"))
POLLERS = int(os.environ.get("BENCH_POLLERS", "8"))
MENTIONS = int(os.environ.get("BENCH_MENTIONS", "2"))


def _serve(conn, channels: int, mentions: int) -> None:
    """The server process: accounts gov0..govN and a citizen mentioning each of them."""
    from tests.platforms.mastodon_server import MastodonServer

    server = MastodonServer().start()
    server.add_account("citizen", "citizen-token")
    for i in range(channels):
        server.add_account(f"gov{i}", f"bench-token-{i}")
    for i in range(channels):
        for k in range(mentions):
            server.post_as("citizen", f"@gov{i} question {k} about the service")
    conn.send(server.url)
    while True:
        cmd = conn.recv()
        if cmd == "mention":
            for i in range(channels):
                server.post_as("citizen", f"@gov{i} a new question")
            conn.send("ok")
        elif cmd == "count":
            conn.send(len(server.requests))
        else:
            server.stop()
            conn.send("bye")
            return


def _cycle(pollers: int) -> tuple[float, int, int]:
    from django.db import connection

    from workflows.services.listening import channel_listen, channels_due_for_listening

    due = channels_due_for_listening(limit=100000)
    started = time.perf_counter()

    def poll(cid: int):
        try:
            return channel_listen(channel_id=cid, worker=f"bench:{cid}")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=pollers) as pool:
        results = list(pool.map(poll, due))
    elapsed = time.perf_counter() - started
    return elapsed, len(due), sum(r["new"] for r in results if r)


def run_listen_bench(*, channels: int = CHANNELS, pollers: int = POLLERS, mentions: int = MENTIONS) -> dict:
    from django.conf import settings

    from accounts.models import Organisation
    from workflows.models import Channel, InboundMessage, ListeningCursor

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, channels, mentions), daemon=True)
    proc.start()
    url = parent.recv()
    settings.LISTEN_INTERVAL = 0  # every channel is due at each cycle
    org, _ = Organisation.objects.get_or_create(slug="bench-listen", defaults={"name": "Bench listening"})
    for i in range(channels):
        os.environ[f"PARLEY_SECRET_BENCH_TOKEN_{i}"] = f"bench-token-{i}"
    chans = Channel.objects.bulk_create([
        Channel(organisation=org, slug=f"bench-listen-{i}", platform="mastodon", handle=f"@gov{i}",
                adapter="mastodon", adapter_config={"api_base_url": url, "token_env": f"PARLEY_SECRET_BENCH_TOKEN_{i}"})
        for i in range(channels)
    ])
    out: dict = {"channels": channels, "pollers": pollers}
    try:
        first, n1, new1 = _cycle(pollers)
        parent.send("mention")
        parent.recv()
        second, n2, new2 = _cycle(pollers)
        steady, n3, new3 = _cycle(pollers)
        stored = InboundMessage.objects.filter(channel__in=chans).count()
        errors = ListeningCursor.objects.filter(channel__in=chans).exclude(last_error="").count()
        assert (n1, n2, n3) == (channels,) * 3, (n1, n2, n3)
        assert (new1, new2, new3, stored) == (channels * mentions, channels, 0, channels * (mentions + 1)), \
            (new1, new2, new3, stored)
        out.update(first_poll_s=round(first, 2), new_mention_s=round(second, 2), steady_s=round(steady, 2),
                   errors=errors)
    finally:
        parent.send("stop")
        parent.recv()
        proc.join(timeout=10)
    return out


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_listen_{connection.settings_dict['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        r = run_listen_bench()
        print(f"listening, {r['channels']} Mastodon channels, {r['pollers']} concurrent pollers, local server:")
        print(f"  first poll ({MENTIONS} mentions waiting each): {r['first_poll_s']:.2f} s per cycle")
        print(f"  one new mention each:                 {r['new_mention_s']:.2f} s per cycle")
        print(f"  nothing new (steady state):           {r['steady_s']:.2f} s per cycle")
        print(f"  channels with an error: {r['errors']}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
