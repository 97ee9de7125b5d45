"""French typography in the French catalogue (issue 21, item 6)."""
from __future__ import annotations


def test_the_french_catalogue_follows_french_typography():
    """A no-break space before ":" and a narrow no-break space before ";", "!" and "?" in every
    French message: never a plain space (the line would break before the mark), never glued."""
    import gettext
    import re
    import subprocess

    from django.conf import settings

    po = settings.BASE_DIR / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    with open(mo, "rb") as fh:
        catalogue = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    wrong = re.compile(r"(?<=\S) [:;!?](?=\s|$|<)|(?<=[\w»)])[:;!?](?=\s|$|<)")
    bad = sorted(v for k, v in catalogue.items() if k and isinstance(v, str) and wrong.search(v))
    assert bad == [], bad[:10]
    assert any("\u00a0:" in v for v in catalogue.values() if isinstance(v, str))
