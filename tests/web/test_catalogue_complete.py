"""Every word a person reads exists in French (issue 11): extract every message from the code and
templates into a copy of the French catalogue and check that none is untranslated or fuzzy."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .conftest import ROOT


def test_every_message_in_the_code_is_translated(tmp_path):
    # makemessages walks its working directory and writes to its locale paths: give it a tree of
    # links to the sources and a copy of the catalogue, so the committed one is never touched.
    for name in ("accounts", "config", "workflows", "templates", "manage.py"):
        (tmp_path / name).symlink_to(ROOT / name)
    locale = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    po = locale / "django.po"
    committed = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    before = committed.read_bytes()
    shutil.copy(committed, po)
    (tmp_path / "catalogue_settings.py").write_text(
        f"from tests.settings import *  # noqa: F403\nLOCALE_PATHS = [{str(tmp_path / 'locale')!r}]\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "catalogue_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "fr", "-e", "html,txt,py", "--no-location",
                    "--symlinks", "-v", "0"], cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    assert committed.read_bytes() == before
    for flag in ("--untranslated", "--only-fuzzy"):
        found = subprocess.run(["msgattrib", flag, "--no-obsolete", str(po)],
                               capture_output=True, text=True, check=True).stdout
        assert [line for line in found.splitlines() if line.startswith("msgid ") and line != 'msgid ""'] == [], flag
    assert subprocess.run(["grep", "-c", "^msgid", str(po)], capture_output=True, text=True).stdout.strip() != "0"
