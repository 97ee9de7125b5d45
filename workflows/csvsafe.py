"""One rule for every CSV cell Parley writes (ATIP exports, `export_audit --format csv`): a cell a
spreadsheet would read as a formula is neutralised with a leading apostrophe (CSV injection).

A cell is a formula when its first *visible* character is = + - @ in any width or form that
folds to them (NFKC: fullwidth ＝ ＋ － ＠, small ﹦ ﹢ ﹣ ﹫, superscript ⁼ ⁺ ⁻ …), whatever
invisible characters come before it (zero-width space and joiners, word joiner, byte-order mark,
soft hyphen, bidi controls, other format characters, spaces of every width, combining marks),
or when it starts with a tab, carriage return or line feed."""
from __future__ import annotations

import json
import unicodedata
from typing import Any

#: = + - @, and the minus sign (U+2212) that superscript and subscript minus fold to.
TRIGGERS = frozenset("=+-@\u2212")
CONTROLS = frozenset("\t\r\n")
#: Unicode categories a reader does not see before the first character: format (Cf), controls
#: (Cc), separators (Zs, Zl, Zp) and marks with nothing to attach to (Mn, Me).
INVISIBLE = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"})


def is_formula(text: str) -> bool:
    if not text:
        return False
    if text[0] in CONTROLS:
        return True
    for ch in text:
        if ch in CONTROLS:
            return True
        if unicodedata.category(ch) in INVISIBLE or ch.isspace():
            continue
        return unicodedata.normalize("NFKC", ch)[:1] in TRIGGERS
    return False


def csv_cell(value: Any) -> str:
    """`value` as a CSV cell: None → "", dicts and lists as JSON, a formula neutralised."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if is_formula(text) else text
