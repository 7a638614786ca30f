"""Text cells of the CSV files gsocseq writes, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their
full-width forms) is a formula to Excel, LibreOffice and Google Sheets ("CSV injection", OWASP):
an admin unit or site named ``=HYPERLINK(...)`` would run when the statistics are opened. As
OWASP recommends, such a text cell is written with a leading single quote, which the
spreadsheet takes as "this is text" (the csv module quotes and escapes the rest). Numbers are
left alone: numeric columns are written as numbers, and a text cell that is a plain number
(a site id ``-5``) cannot hold a formula.

A name that becomes a cell of several rows (an admin unit) is refused where it is read if it
holds a control character (:func:`control_character`: NUL, a line break, ...): written as it
is, a NUL ends the line for many CSV readers and spreadsheets, and the rows of the unit no
longer match its name.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Optional

#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")


def cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would take for a formula gets a
    leading ``'``; anything else (numbers, other text) is returned unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value  # a plain number such as "-5" or "+1.5e3"


def control_character(text: str) -> Optional[str]:
    """The first control character of ``text`` (Unicode category Cc: NUL, tab, line breaks,
    DEL, ...) said as ``U+0000 at character 3``; None without one."""
    for k, ch in enumerate(text, start=1):
        if unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X} at character {k}"
    return None
