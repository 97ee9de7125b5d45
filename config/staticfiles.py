"""Third-party front-end files, shipped selectively, and the GC Design System stylesheet.

npm packages carry more than a site needs: READMEs, licences, and sample CSS whose `url()`s are
placeholders ("path/to/file/gcds-noto-sans-light.woff2"). Collecting a package directory whole
ships those samples, and the manifest storage (rightly) refuses to build with references that
resolve to nothing. So each package is listed here with the files Parley actually serves, and
gcds.css, whose font URLs point at a CDN, is rewritten by `gcds_stylesheet` with every URL
resolved through the static storage (hashed in production).
"""
from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.utils import matches_patterns
from django.core.files.storage import FileSystemStorage
from django.templatetags.static import static

NODE_MODULES = Path(settings.BASE_DIR) / "node_modules"

#: (static prefix, package directory, the files shipped: glob patterns relative to it).
VENDOR_FILES: list[tuple[str, Path, list[str]]] = [
    ("gcds", NODE_MODULES / "@gcds-core" / "components" / "dist" / "gcds", ["*.js", "gcds.css"]),
    ("gcds-fonts", NODE_MODULES / "@gcds-core" / "fonts",
     ["fonts/*/*.woff2", "fonts/*/*.woff", "fonts/icons/gcds-icons.ttf"]),
    ("htmx", NODE_MODULES / "htmx.org" / "dist", ["htmx.min.js"]),
]


class VendorFinder(BaseFinder):
    """A staticfiles finder for the files listed in VENDOR_FILES (and nothing else of a package)."""

    def __init__(self, *args, **kwargs):
        # (prefix, root, the files shipped, storage); listed once (Django caches its finders).
        self.packages: list[tuple[str, Path, list[str], FileSystemStorage]] = []
        for prefix, root, patterns in VENDOR_FILES:
            if root.is_dir():
                storage = FileSystemStorage(location=str(root))
                storage.prefix = prefix  # type: ignore[attr-defined]  # collectstatic reads it
                self.packages.append((prefix, root, self._files(root, patterns), storage))
        super().__init__(*args, **kwargs)

    @staticmethod
    def _files(root: Path, patterns: list[str]) -> list[str]:
        out = []
        for path in sorted(root.rglob("*")):
            if path.is_file():
                rel = path.relative_to(root).as_posix()
                if any(fnmatch(rel, p) and rel.count("/") == p.count("/") for p in patterns):
                    out.append(rel)
        return out

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        found = []
        for prefix, root, files, _storage in self.packages:
            if not path.startswith(prefix + "/"):
                continue
            rel = path[len(prefix) + 1:]
            if rel in files:
                full = str(root / rel)
                if not find_all:
                    return full
                found.append(full)
        return found

    def list(self, ignore_patterns):
        for _prefix, _root, files, storage in self.packages:
            for rel in files:
                if not matches_patterns(rel, ignore_patterns or []):
                    yield rel, storage


_CDN_FONTS = re.compile(r"https://cdn\.design-system\.canada\.ca/@gcds-core/fonts@[^/]+/([\w./-]+)")
_IMPORT = re.compile(r'@import\s+url\("[^"]*"\)\s*;')


def gcds_stylesheet() -> str:
    """gcds.css served from this site: no third-party request, every font a (hashed) static URL.

    The Google Fonts import is dropped (static/css/parley.css declares the GC Design System's
    text fonts from @gcds-core/fonts); the icon font's CDN URLs point at our copy. A font that is
    not shipped raises (ValueError from the manifest storage) rather than writing a URL that
    would 404."""
    from django.contrib.staticfiles import finders

    path = finders.find("gcds/gcds.css")
    if not path:
        return ""
    css = Path(path).read_text(encoding="utf-8")
    css = _IMPORT.sub("", css)
    return _CDN_FONTS.sub(lambda m: static("gcds-fonts/fonts/" + m.group(1)), css)
