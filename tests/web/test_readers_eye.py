"""The reader's-eye check (issue 21, "Deliver"): axe-core finds markup faults, not words. This
crawler signs in as each demo role, in English and in French, at 375 and 1280 px, follows the
app's own links from the home page (every URL pattern with a few instances, every post state the
demo's morning has), and records what a public servant would trip on, by kind:

- english_on_fr / french_on_en: a catalogue sentence left in the other language;
- iso_date: "2026-12-07" or a week code "2026-W50" shown to a person;
- clock_fr: "16:02" on a French page (French writes "16 h 02");
- zone: "EST" on a French page, "HNE" on an English one;
- code: a channel slug ("dpe-en"), an `outside-3ada…` id, a long hex id, a language code
  ("(fr)", "Langue : fr"), a technical word ("preflight", a Python b'…') where words belong;
- success_beside_failure: a green success message on a page whose post or reply failed;
- banner_contradicts_state: the publishing banner saying "Live"/"Publishing" of a failed post,
  or "Publishing failed" of a published one;
- status: a link or a form target answering 405 or 500 (a form's address reopened by GET is
  what a person gets after a form error);
- overflow: horizontal scrolling at 375 px; small_text: chart labels drawn under 12 px;
- axe: an axe-core violation (each URL pattern, language and width once).

One browser, nothing in parallel; a role's crawl is bounded (MAX_PAGES, INSTANCES per pattern).
PARLEY_READERS_EYE_REPORT=<file> writes every finding as JSON (the closing note's table).
"""
from __future__ import annotations

import json
import os
import re
import time
from collections import defaultdict
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from .test_browser import _axe, sign_in
from .test_browser_mobile import VISIBLE_UI_TEXT, WIDEST, _catalogue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ["dana", "rami", "tess", "cora", "uma", "omar", "admin"]
WIDTHS = {375: {"width": 375, "height": 800}, 1280: {"width": 1280, "height": 900}}
MAX_PAGES = 10  # per role and language (the communications lead: every post too, in every state)
INSTANCES = 1  # URLs per pattern, posts apart
#: Not pages of the app a public servant reads: downloads, the admin, the API docs, assets.
SKIP = re.compile(r"^/(admin|api|static|ui|accounts/logout|language)/|/download/$")

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{4}-W\d{2}\b")
CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")
ZONE_EN = re.compile(r"\b(EST|EDT|CST|CDT|MST|MDT|PST|PDT|AST|ADT|NST|NDT)\b")
ZONE_FR = re.compile(r"\b(HNE|HAE|HNC|HAC|HNR|HAR|HNP|HAP|HNA|HAA)\b")
CODES = re.compile(r"\boutside-[0-9a-f]{4,}|\b[0-9a-f]{16,}\b|\((?:en|fr)\)|\b(?:Language|Langue)\s*:\s*(?:en|fr)\b"
                   r"|\bpreflight\b|\bb'")

#: Posts and replies on a post page: the state badge and the publishing banner's level.
PAGE_STATE = """() => ({
  state: (document.querySelector("h1 .badge") || {className: ""}).className.replace(/.*badge--/, ""),
  truth: (document.querySelector("#publishing-truth") || {className: ""}).className.replace(/.*truth--/, ""),
  success: Array.from(document.querySelectorAll(".message--success")).map(e => e.textContent.trim()),
  failedBadges: Array.from(document.querySelectorAll(".badge")).filter(b => /badge--failed/.test(b.className)
    || /^(Failed|Échec|Échouée?)$/i.test(b.textContent.trim())).length,
})"""

#: Chart labels as drawn: the SVG's font size scaled by how much the drawing shrank.
CHART_TEXT_PX = """() => Array.from(document.querySelectorAll(".chart svg text")).map(t => {
  const svg = t.ownerSVGElement;
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Math.round(parseFloat(getComputedStyle(t).fontSize) * scale * 10) / 10;
})"""

TARGETS = """() => ({
  links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
  forms: Array.from(document.querySelectorAll("form")).map(f => [(f.getAttribute("method") || "get").toLowerCase(), f.action]),
})"""


def _shared_words() -> list[str]:
    """Catalogue entries whose French is the English ("Publication", "Communications")."""
    import gettext

    from .conftest import ROOT

    with open(ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.mo", "rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    out = []
    for key, fr in catalog.items():
        en = (key[0] if isinstance(key, tuple) else key).split("\x04", 1)[-1]
        if en and en == fr and "%" not in en:
            out.append(" ".join(en.split()))
    return out


def pattern_of(path: str) -> str:
    parts = urlsplit(path)
    query = "&".join(sorted(re.sub(r"=.*", "=", q) for q in parts.query.split("&") if q))
    return re.sub(r"/\d+/", "/N/", parts.path) + (f"?{query}" if query else "")


class Crawl:
    """The findings of one crawl: kind -> sorted list of "role/lang/width path: detail"."""

    def __init__(self, page: Page, base: str):
        from workflows.models import Channel

        self.page, self.base = page, base
        self.findings: dict[str, set[str]] = defaultdict(set)
        # One expression per language: a text is English when some English catalogue entry
        # matches it whole and no French one does (and the reverse). Words the two languages
        # share ("Publication", "Communications") count as both.
        pairs = _catalogue()
        shared = [re.escape(w) for w in _shared_words()]
        self.english = re.compile("|".join([*(f"(?:{en.pattern})" for en, _fr in pairs), *shared]))
        self.french = re.compile("|".join([*(f"(?:{fr.pattern})" for _en, fr in pairs), *shared]))
        self.slugs = re.compile(r"(?<![\w/@-])(" + "|".join(re.escape(s) for s in
                                Channel.objects.values_list("slug", flat=True)) + r")(?![\w-])")
        self.checked_targets: set[str] = set()
        self.seen_texts: dict[str, tuple[bool, bool]] = {}
        self.spent: dict[str, float] = defaultdict(float)
        self.axed: set[tuple[str, str, int]] = set()
        self.pages_seen = 0

    def add(self, kind: str, where: str, detail: object) -> None:
        self.findings[kind].add(f"{where}: {detail}"[:300])

    def languages_of(self, text: str) -> tuple[bool, bool]:
        """(reads as English catalogue text, reads as French): cached, the same words recur."""
        if text not in self.seen_texts:
            self.seen_texts[text] = (bool(self.english.fullmatch(text)), bool(self.french.fullmatch(text)))
        return self.seen_texts[text]

    # --- what one page shows ------------------------------------------------------------
    def read(self, where: str, path: str, lang: str, width: int) -> None:
        page = self.page
        texts = page.evaluate(VISIBLE_UI_TEXT)
        text = "\n".join(texts)
        for match in ISO_DATE.findall(text):
            self.add("iso_date", where, match)
        if lang == "fr":
            for t in texts:
                if CLOCK.search(t):
                    self.add("clock_fr", where, t[:80])
        for match in (ZONE_EN if lang == "fr" else ZONE_FR).findall(text):
            self.add("zone", where, match)
        for t in texts:
            for m in CODES.finditer(t):
                self.add("code", where, f"{m.group(0)!r} in {t[:80]!r}")
            for m in self.slugs.finditer(t):
                self.add("code", where, f"slug {m.group(0)!r} in {t[:80]!r}")
        for t in sorted(set(texts)):
            is_en, is_fr = self.languages_of(t)
            if lang == "fr" and is_en and not is_fr:
                self.add("english_on_fr", where, t[:80])
            if lang == "en" and is_fr and not is_en:
                self.add("french_on_en", where, t[:80])
        state = page.evaluate(PAGE_STATE)
        if state["success"] and state["failedBadges"]:
            self.add("success_beside_failure", where, state["success"][0][:80])
        if re.match(r"/posts/\d+/$", path) and state["truth"]:
            contradicts = ((state["state"] in ("failed", "retracted", "withdrawn", "rejected")
                            and state["truth"] in ("success", "info"))
                           or (state["state"] == "published" and state["truth"] == "error"))
            if contradicts:
                self.add("banner_contradicts_state", where, f"state {state['state']}, banner {state['truth']}")
        small = [px for px in page.evaluate(CHART_TEXT_PX) if px < 12]
        if small:
            self.add("small_text", where, f"chart labels drawn at {min(small)} px")
        if width == 375:
            widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if widths[0] > widths[1]:
                self.add("overflow", where, [*widths, page.evaluate(WIDEST)])
        key = (pattern_of(path), lang, width)
        if key not in self.axed:
            self.axed.add(key)
            t0 = time.monotonic()
            found = _axe(page)
            self.spent["axe"] += time.monotonic() - t0
            for v in found:
                self.add("axe", where, f"{v['id']}: {v['nodes'][:2]}")

    # --- where the page leads -------------------------------------------------------------
    def targets(self, where: str) -> list[str]:
        found = self.page.evaluate(TARGETS)
        links = []
        for href in found["links"]:
            if not href.startswith(self.base):
                continue
            path = href[len(self.base):].split("#")[0] or "/"
            if "lang=" in path or SKIP.search(path):
                continue
            links.append(path)
            self.check_status(where, "get", path)
        for method, action in found["forms"]:
            if action.startswith(self.base):
                path = action[len(self.base):].split("#")[0] or "/"
                if not SKIP.search(path):
                    # A form's address is also what the address bar shows after an error: reopened by GET.
                    self.check_status(where, method, path)
        return links

    def check_status(self, where: str, method: str, path: str) -> None:
        key = pattern_of(path)
        if key in self.checked_targets:
            return
        self.checked_targets.add(key)
        response = self.page.request.get(self.base + path, max_redirects=0)
        if response.status in (405,) or response.status >= 500:
            self.add("status", where, f"GET {path} (a {method} target) answered {response.status}")

    # --- one role, one language --------------------------------------------------------------
    def crawl(self, role: str | None, lang: str) -> None:
        page = self.page
        if role is None:
            page.context.clear_cookies()
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": self.base}])
            paths = ["/accounts/login/"]
        else:
            sign_in(page, self.base, role, lang=lang)
            paths = ["/"]
            if role == "cora":  # the communications lead sees every post: each state the demo has, once
                from workflows.models import Post

                paths += [f"/posts/{pid}/" for pid in Post.objects.filter(organisation__slug="dpe")
                          .order_by("id").values_list("id", flat=True)]
        visited: list[str] = []
        per_pattern: dict[str, int] = defaultdict(int)
        page.set_viewport_size(WIDTHS[1280])
        budget = MAX_PAGES + (20 if role == "cora" else 0)
        while paths and len(visited) < budget:
            # A pattern this role has not seen yet comes first (bounded crawl, widest reach).
            fresh = next((i for i, p in enumerate(paths) if per_pattern[pattern_of(p)] == 0), 0)
            path = paths.pop(fresh)
            pat = pattern_of(path)
            limit = (20 if role == "cora" else 2) if pat == "/posts/N/" else INSTANCES
            if path in visited or per_pattern[pat] >= limit:
                continue
            per_pattern[pat] += 1
            where = f"{role or 'anonymous'}/{lang}/1280 {path}"
            t0 = time.monotonic()
            response = page.goto(self.base + path)
            self.spent["load"] += time.monotonic() - t0
            if response is None or response.status >= 400:
                self.add("status", where, f"GET {path} answered {response.status if response else 'nothing'}")
                continue
            visited.append(path)
            self.pages_seen += 1
            t0 = time.monotonic()
            self.read(where, path, lang, 1280)
            self.spent["read"] += time.monotonic() - t0
            t0 = time.monotonic()
            paths.extend(p for p in self.targets(where) if p not in visited)
            self.spent["targets"] += time.monotonic() - t0
        if role == "dana":
            self.error_states(lang)
        # At 375 px the same HTML: each pattern once per language (overflow and axe; words again).
        page.set_viewport_size(WIDTHS[375])
        for path in visited:
            if (pattern_of(path), lang, 375) in self.axed:
                continue
            page.goto(self.base + path)
            self.pages_seen += 1
            self.read(f"{role or 'anonymous'}/{lang}/375 {path}", path, lang, 375)


    def error_states(self, lang: str) -> None:
        """The states a form error leaves a person in: an empty new post and an empty reply,
        submitted as they are (the page that comes back, then its address reopened)."""
        from workflows.models import InboundMessage

        page = self.page
        msg = InboundMessage.objects.filter(status="new", channel__slug="dpe-fr").order_by("id").first()
        for path, button in (("/posts/new/", "main form[method=post] button[name=submit]"),
                             (f"/inbox/{msg.id}/" if msg else "", "form.reply-form button[type=submit]")):
            if not path:
                continue
            page.goto(self.base + path)
            submit = page.locator(button).first
            if not submit.count():
                self.add("status", f"dana/{lang}/1280 {path}", f"no submit button {button!r}")
                continue
            with page.expect_navigation():
                submit.click()
            where = f"dana/{lang}/1280 {path} (submitted empty)"
            self.pages_seen += 1
            self.read(where, urlsplit(page.url).path, lang, 1280)
            reopened = self.page.request.get(page.url, max_redirects=0)
            if reopened.status == 405 or reopened.status >= 500:
                self.add("status", where, f"the address after the error, reopened, answered {reopened.status}")


_RESULT: dict[str, object] = {}


@pytest.fixture
def crawl(request):
    """Crawl once per test session; every test below reads the same findings."""
    if not _RESULT:
        live_server = request.getfixturevalue("live_server")
        request.getfixturevalue("seeded")
        request.getfixturevalue("embedded")
        page = request.getfixturevalue("page")
        from workflows.demo_scenario import seed_morning

        seed_morning()
        started = time.monotonic()
        c = Crawl(page, live_server.url)
        for lang in ("en", "fr"):
            c.crawl(None, lang)
            for role in ROLES:
                c.crawl(role, lang)
        page.goto("about:blank")  # no page left polling the live server
        _RESULT.update(findings={k: sorted(v) for k, v in c.findings.items()}, pages=c.pages_seen,
                       seconds=round(time.monotonic() - started), spent={k: round(v) for k, v in c.spent.items()},
                       patterns=sorted({a[0] for a in c.axed}))
        report = os.environ.get("PARLEY_READERS_EYE_REPORT")
        if report:
            with open(report, "w", encoding="utf-8") as fh:
                json.dump(_RESULT, fh, ensure_ascii=False, indent=1)
    return _RESULT


def _kind(crawl, kind: str) -> list[str]:
    return crawl["findings"].get(kind, [])


def test_the_crawl_reaches_every_part_of_the_demo(crawl):
    patterns = set(crawl["patterns"])
    assert {"/", "/inbox/", "/inbox/N/", "/posts/N/", "/queue/", "/metrics/", "/posts/new/"} <= patterns, patterns
    assert crawl["pages"] >= 80


@pytest.mark.parametrize("kind", ["iso_date", "clock_fr", "zone", "code"])
def test_dates_times_and_names_are_words(crawl, kind):
    assert _kind(crawl, kind) == []


@pytest.mark.parametrize("kind", ["english_on_fr", "french_on_en"])
def test_every_page_speaks_one_language(crawl, kind):
    assert _kind(crawl, kind) == []


@pytest.mark.parametrize("kind", ["success_beside_failure", "banner_contradicts_state"])
def test_no_page_contradicts_itself(crawl, kind):
    assert _kind(crawl, kind) == []


def test_no_link_or_form_target_answers_405_or_500(crawl):
    assert _kind(crawl, "status") == []


@pytest.mark.parametrize("kind", ["overflow", "axe", "small_text"])
def test_layout_and_markup(crawl, kind):
    assert _kind(crawl, kind) == []
