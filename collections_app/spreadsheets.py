"""What a CSV export writes into a cell (a leaf module): every text the desk exports goes through `safe_cell`, so
a value typed as "=HYPERLINK(...)" (a team's name, a username, a reference) is text when the file is opened in a
spreadsheet, never a formula (CSV injection). The complaint report and the compliance exports share it."""

from __future__ import annotations


def safe_cell(text: str) -> str:
    """`text` as a spreadsheet reads it back: a leading =, +, @, tab or carriage return, or a - before more
    characters, is escaped with a quote (a lone "-", the empty value of the exports, stays as it is)."""
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and len(text) > 1):
        return "'" + text
    return text
