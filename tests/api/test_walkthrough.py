"""docs/api.md's curl walk-through works as printed: parse its ```sh block and replay each
command against the app (Django test client), checking every `# → status, state` line."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_issue

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BASE = "http://127.0.0.1:8000"
EXPECT = re.compile(r"^#\s*→\s*(\d{3})(?:,\s*state\s+(\w+)(?:\s+or\s+(\w+))?)?\s*$")
TOKEN = re.compile(r"^(\w+)=\$\(python manage\.py issue_token (\w+)\)$")
CAPTURE = re.compile(r"^(\w+)=\$\((curl .*?)\s*\|\s*jq -r \.(\w+)\)$", re.DOTALL)
ASSIGN = re.compile(r"^(\w+)=(\S+)$")


def walkthrough_commands() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## Walk-through", 1)[1].split("```sh\n", 1)[1].split("\n```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _expand(token: str, env: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], token)


def _curl(command: str, env: dict):
    args = shlex.split(command)
    assert args[0] == "curl"
    method, headers, data, url = "GET", {}, None, None
    i = 1
    while i < len(args):
        arg = args[i]
        if arg in ("-s", "-f", "-sf", "-fs"):
            pass
        elif arg == "-X":
            i += 1
            method = args[i]
        elif arg == "-H":
            i += 1
            name, value = _expand(args[i], env).split(":", 1)
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            i += 1
            data = args[i]
            method = method if method != "GET" else "POST"
        elif arg.startswith("-"):
            raise AssertionError(f"the walk-through uses a curl option this test does not know: {arg}")
        else:
            url = _expand(arg, env)
        i += 1
    assert url and url.startswith(BASE), url
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k.lower() != "content-type"}
    content_type = headers.get("Content-Type", "application/json")
    return APIClient().generic(method, url[len(BASE):], data or "", content_type=content_type, **meta)


def _drain_outbox():
    """What the worker does between two requests: relay the outbox and run its tasks here."""
    from workflows.services import relay

    while relay.relay_outbox(enqueue=lambda event_id, topic: relay.event_handle(event_id=event_id)):
        pass


def test_walkthrough_has_the_whole_flow():
    commands = walkthrough_commands()
    text = "\n".join(commands)
    for step in ("issue_token dana", "/submit/", "/approve/", "/translations/fr/", "state published"):
        assert step in text
    assert sum(1 for c in commands if EXPECT.match(c)) >= 8


def test_walkthrough_replays_as_printed(demo, settings, tmp_path):
    settings.PUBLISH_LOG_PATH = str(tmp_path / "publications.log")
    env: dict[str, str] = {}
    expect = None
    replayed = []
    for command in walkthrough_commands():
        if (m := EXPECT.match(command)):
            expect = (int(m.group(1)), {s for s in m.groups()[1:] if s})
            continue
        if command.startswith("#"):
            continue
        if (m := TOKEN.match(command)):
            _, key = token_issue(user=User.objects.get(username=m.group(2)))
            env[m.group(1)] = key
            continue
        capture = CAPTURE.match(command)
        curl = capture.group(2) if capture else command if command.startswith("curl ") else None
        if curl is None:
            m = ASSIGN.match(command)
            assert m, f"cannot replay: {command}"
            env[m.group(1)] = _expand(m.group(2), env)
            continue
        assert expect is not None, f"no '# → status' line before: {command}"
        status, states = expect
        if "published" in states and len(states) == 1:
            _drain_outbox()
        response = _curl(curl, env)
        assert response.status_code == status, (command, response.status_code, response.content[:500])
        body = json.loads(response.content)
        if states:
            assert body["state"] in states, (command, body["state"])
        if capture:
            env[capture.group(1)] = str(body[capture.group(3)])
        replayed.append((response.status_code, body.get("state") if isinstance(body, dict) else None))
        expect = None
    assert replayed[-2][1] == "published"
    assert len(replayed) == 8
    # Published on both channels, once each.
    lines = (tmp_path / "publications.log").read_text().splitlines()
    assert len(lines) == 2
