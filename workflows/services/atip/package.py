"""Writing the package: CSV (through the one CSV rule), JSON, the HTML summary, the ZIP."""
from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from ...csvsafe import csv_cell
from ...models import AtipExport
from .common import CSV_COLUMNS, KINDS, export_root
from .media import csv_rows as media_csv_rows
from .media import html_section as media_html_section
from .media import labels as media_labels
from .media import media_zip

#: Every cell through the one CSV rule (workflows/csvsafe.py: formulas in any width, behind
#: invisible characters, neutralised).
_csv_value = csv_cell


class _Writer:
    """The package's files, written as the records stream through (memory stays flat)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.counts = dict.fromkeys(KINDS, 0)
        self.files: dict[str, Any] = {}
        self.csv: dict[str, Any] = {}
        for kind in KINDS:
            fh = open(folder / f"{kind}.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.files[kind] = fh
            self.csv[kind] = csv.writer(fh)
            self.csv[kind].writerow(CSV_COLUMNS[kind])
        self.json = {k: open(folder / f"{k}.jsonpart", "w", encoding="utf-8") for k in ("posts", "inbound")}  # noqa: SIM115
        self.html = open(folder / "summary.part", "w", encoding="utf-8")  # noqa: SIM115

    def row(self, kind: str, values: dict) -> None:
        self.csv[kind].writerow([_csv_value(values.get(c)) for c in CSV_COLUMNS[kind]])
        self.counts[kind] += 1

    def post(self, rec: dict) -> None:
        fh = self.json["posts"]
        fh.write(("," if self.counts["posts"] else "") + json.dumps(rec, ensure_ascii=False))
        self.row("posts", {**rec, "audit_chain": rec["audit"]["chain"], "audit_verified": rec["audit"]["verified"]})
        for r in rec["revisions"]:
            for lang, text in sorted((r["texts"] or {}).items()):
                self.row("revisions", {**r, "post": rec["id"], "language": lang, "text": text})
        for d in rec["decisions"]:
            self.row("decisions", {**d, "post": rec["id"]})
        for pub in rec["publications"]:
            self.row("publications", {**pub, "post": rec["id"]})
        for m in media_csv_rows(rec["id"], rec.get("media") or []):
            self.row("media", m)
        for ev in rec["audit"]["events"]:
            self.row("audit", ev)

    def inbound(self, rec: dict) -> None:
        fh = self.json["inbound"]
        fh.write(("," if self.counts["inbound"] else "") + json.dumps(rec, ensure_ascii=False))
        self.row("inbound", {**rec, "audit_chain": rec["audit"]["chain"], "audit_verified": rec["audit"]["verified"]})
        for ev in rec["audit"]["events"]:
            self.row("audit", ev)

    def close(self) -> None:
        for fh in [*self.files.values(), *self.json.values(), self.html]:
            fh.close()


def _labels() -> dict[str, str]:
    """The summary's words in the active language, translated once (not once per row)."""
    words = {
        "post": _("Post %(id)s"), "inbound": _("Citizen message %(id)s"), "state": _("State"), "lane": _("Lane"),
        "channels": _("Channels"), "author": _("Author"), "created": _("Created"), "citizen": _("Citizen message"),
        "ok": _("Audit chain verifies."), "bad": _("Audit chain does not verify."), "versions": _("Text versions"),
        "version": _("Version"), "language": _("Language"), "text": _("Text"), "by": _("By"),
        "decisions": _("Decisions"), "step": _("Step"), "reviewer": _("Reviewer"), "verdict": _("Verdict"),
        "comment": _("Comment"), "when": _("When"), "publications": _("Publications"), "channel": _("Channel"),
        "status": _("Status"), "platform_id": _("Platform id"), "address": _("Address"), "from": _("From"),
        "received": _("Received"),
    }
    return {**{k: str(v) for k, v in words.items()}, **media_labels()}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(heads: list[str], rows: list[list[str]]) -> str:
    """A table; each cell of `rows` is already escaped HTML."""
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(ok: bool, t: dict) -> str:
    return f'<p><span class="ok">{_e(t["ok"])}</span></p>' if ok else f'<p><span class="bad">{_e(t["bad"])}</span></p>'


def _html_posts(records: list[dict], t: dict) -> str:
    """The summary's section for each post (plain string building: 10,000 posts in seconds)."""
    parts = []
    for p in records:
        meta = [f'{_e(t["state"])}: {_e(p["state"])}', f'{_e(t["lane"])}: {_e(p["lane"])}',
                f'{_e(t["channels"])}: {_e(", ".join(p["channels"]))}', f'{_e(t["author"])}: {_e(p["author"])}',
                f'{_e(t["created"])}: {_e(p["created_at"])}']
        if p.get("in_reply_to"):
            meta.append(f'{_e(t["citizen"])}: {_e(p["in_reply_to"])}')
        versions = [[_e(r["number"]), _e(lang), f'<pre lang="{_e(lang)}">{_e(text)}</pre>',
                     f'{_e(r["created_by"])}, {_e(r["created_at"])}']
                    for r in p["revisions"] for lang, text in sorted((r["texts"] or {}).items())]
        html_parts = [f'<article aria-labelledby="post-{p["id"]}"><h2 id="post-{p["id"]}">{_e(t["post"] % {"id": p["id"]})}</h2>',
                      f"<p>{' · '.join(meta)}</p>", _verdict(p["audit"]["verified"], t),
                      f'<h3>{_e(t["versions"])}</h3>',
                      _table([t["version"], t["language"], t["text"], t["by"]], versions)]
        if p["decisions"]:
            html_parts += [f'<h3>{_e(t["decisions"])}</h3>', _table(
                [t["step"], t["reviewer"], t["verdict"], t["comment"], t["when"]],
                [[_e(d["step"]), _e(d["reviewer"]), _e(d["verdict"]), f'<pre>{_e(d["comment"])}</pre>', _e(d["created_at"])]
                 for d in p["decisions"]])]
        if p["publications"]:
            html_parts += [f'<h3>{_e(t["publications"])}</h3>', _table(
                [t["channel"], t["language"], t["status"], t["platform_id"], t["address"]],
                [[_e(x["channel"]), _e(x["language"]), _e(x["status"]), _e(x["external_id"]), _e(x["url"])]
                 for x in p["publications"]])]
        html_parts.append(media_html_section(p, t))
        parts.append("".join(html_parts) + "</article>\n")
    return "".join(parts)


def _html_inbound(records: list[dict], t: dict) -> str:
    parts = []
    for m in records:
        who = _e(m["author"]) + (f' ({_e(m["author_handle"])})' if m.get("author_handle") else "")
        lang = f' lang="{_e(m["language"])}"' if m.get("language") else ""
        parts.append(
            f'<article aria-labelledby="inbound-{m["id"]}"><h2 id="inbound-{m["id"]}">{_e(t["inbound"] % {"id": m["id"]})}</h2>'
            f'<p>{_e(t["channel"])}: {_e(m["channel"])} · {_e(t["from"])}: {who} · {_e(t["received"])}: '
            f'{_e(m["received_at"])} · {_e(t["status"])}: {_e(m["status"])}</p>'
            f'{_verdict(m["audit"]["verified"], t)}<pre{lang}>{_e(m["text"])}</pre></article>\n')
    return "".join(parts)


def _assemble_json(work: Path, manifest: dict) -> None:
    with open(work / "export.json", "w", encoding="utf-8") as out:
        out.write('{"manifest":' + json.dumps(manifest, ensure_ascii=False) + ',"posts":[')
        with open(work / "posts.jsonpart", encoding="utf-8") as part:
            shutil.copyfileobj(part, out)
        out.write('],"inbound":[')
        with open(work / "inbound.jsonpart", encoding="utf-8") as part:
            shutil.copyfileobj(part, out)
        out.write("]}")


def _assemble_html(work: Path, manifest: dict, export: AtipExport) -> None:
    head, tail = render_to_string("atip/summary.html", {
        "m": manifest, "export": export, "BODY": "@@BODY@@",
    }).split("@@BODY@@", 1)
    with open(work / "summary.html", "w", encoding="utf-8") as out:
        out.write(head)
        with open(work / "summary.part", encoding="utf-8") as part:
            shutil.copyfileobj(part, out)
        out.write(tail)


def _zip(work: Path, export: AtipExport, media_files: Iterable[str] = ()) -> Path:
    name = f"atip-{export.id}-{secrets.token_hex(8)}.zip"
    tmp = work / name
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.write(work / "export.json", "export.json")
        zf.write(work / "summary.html", "summary.html")
        for kind in KINDS:
            zf.write(work / f"{kind}.csv", f"csv/{kind}.csv")
        media_zip(zf, work, media_files)
    final = export_root() / name
    os.replace(tmp, final)
    return final


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
