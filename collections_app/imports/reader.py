"""Reading the CSV stream: the header row, then one record at a time (memory stays flat).

The file is cut into records by physical lines, before the `csv` module sees them: a line ends its record
unless it ends inside a quoted value (RFC 4180 quoting, tracked by `_ends_quoted`). Each record is then parsed
on its own. So whatever goes wrong in one record — a value too large, broken quoting, bytes that are not UTF-8 —
is that record's error, the reader picks up again at the line after it, and text from inside a quoted value is
never read as a row of its own (a file cannot smuggle a row inside a value that the reader gave up on).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import get_close_matches

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from .rows import KNOWN_COLUMNS, REQUIRED_COLUMNS, ROW, ImportFileError, Rejected, RowError

# A real row is a few hundred characters; a record larger than this is refused without being parsed.
MAX_RECORD_CHARS = 64 * 1024
NOT_UTF8 = _lazy("Line %(line)d is not valid UTF-8. Save the file as UTF-8: GBK/GB18030 exports are not accepted.")
_BOM = "\ufeff"
_PHONE_COLUMN = re.compile(r"^phone_(\d+)")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class Header:
    names: list[str]  # the column names, normalised, in file order
    slots: list[int]  # the phone numbers the file has columns for (1 for phone_1, ...)


@dataclass(frozen=True)
class Record:
    line: int  # the line the record starts on (a quoted value may span lines)
    values: list[str]


@dataclass(frozen=True)
class _Raw:
    """One record's physical lines, or why it cannot be parsed."""

    line: int
    lines: list[str]
    problem: str | None = None


class CsvReader:
    """The header and then the records of one stream of lines: bytes (decoded here, line by line, so a bad byte
    is reported at its own line) or text. A record that cannot be read is yielded as Rejected."""

    def __init__(self, stream: Iterable[bytes] | Iterable[str]) -> None:
        self._lines: Iterator[bytes | str] = iter(stream)
        self._line_no = 0

    def header(self) -> Header:
        raw = next(self._raw_records(), None)
        if raw is None:
            raise ImportFileError(_("The file is empty: a header row is expected on line 1."))
        if raw.problem is not None:
            # Nothing can be read without the header; its problem is the file's.
            raise ImportFileError(_("Line 1: the header row cannot be read: %(problem)s") % {"problem": raw.problem})
        values = _parse(raw.lines)
        if values is None:
            raise ImportFileError(_("Line 1: the header row cannot be read as CSV."))
        return read_header(values)

    def records(self) -> Iterator[Record | Rejected]:
        for raw in self._raw_records():
            if raw.problem is not None:
                yield Rejected(raw.line, [RowError(raw.line, ROW, raw.problem)])
                continue
            values = _parse(raw.lines)
            if values is None:
                yield Rejected(raw.line, [RowError(raw.line, ROW, _("The row cannot be read as CSV."))])
            elif any(v.strip() for v in values):
                yield Record(raw.line, values)
            # else: a blank line (editors add them at the end)

    def _raw_records(self) -> Iterator[_Raw]:
        while True:
            start = self._line_no + 1
            lines: list[str] = []
            size = 0
            quoted = False
            problem: str | None = None
            for line in self._lines:
                self._line_no += 1
                text, decoded = _decode(line, first=self._line_no == 1)
                if not decoded and problem is None:
                    problem = str(NOT_UTF8 % {"line": self._line_no})
                quoted = _ends_quoted(text, quoted)
                size += len(text)
                if size > MAX_RECORD_CHARS:
                    if problem is None:
                        problem = _("The row is larger than %(n)d characters.") % {"n": MAX_RECORD_CHARS}
                    lines = []  # stop keeping it; keep reading lines only to find where it ends
                elif problem is None:
                    lines.append(text)
                if not quoted:
                    break
            else:
                if self._line_no < start:
                    return  # the end of the file
                if quoted:
                    yield _Raw(start, [], problem or _(
                        "A quoted value opened on this line is never closed; the lines after it were not read."
                    ))
                    return
            yield _Raw(start, lines, problem)


def _decode(line: bytes | str, *, first: bool) -> tuple[str, bool]:
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return line.decode("utf-8", errors="replace"), False
    else:
        text = line
    if first and text.startswith(_BOM):
        text = text[1:]  # spreadsheet programs write a byte-order mark
    return text, True


def _ends_quoted(line: str, quoted: bool) -> bool:
    """Does `line` end inside a quoted value, given whether it starts inside one? RFC 4180: a value is quoted
    when it starts with `"`; inside it `""` is a quote and a lone `"` closes it. A `"` elsewhere is text (as the
    csv module reads it)."""
    if '"' not in line:
        return quoted
    pos = 0
    end = len(line)
    at_value_start = not quoted
    while pos < end:
        if quoted:
            close = line.find('"', pos)
            if close < 0:
                return True
            if line.startswith('"', close + 1):
                pos = close + 2  # an escaped quote
                continue
            quoted = False
            pos = close + 1
            at_value_start = False
        elif at_value_start and line.startswith('"', pos):
            quoted = True
            pos += 1
        else:
            comma = line.find(",", pos)
            if comma < 0:
                return False
            pos = comma + 1
            at_value_start = True
    return quoted


def _parse(lines: list[str]) -> list[str] | None:
    """The values of one complete record; None when the csv module cannot read it."""
    try:
        return next(csv.reader(lines, strict=True), [])
    except csv.Error:
        return None


def read_header(header: list[str]) -> Header:
    names = [h.strip().lower() for h in header]
    unknown = [_column_label(n, i) for i, n in enumerate(names, 1) if n not in KNOWN_COLUMNS]
    if unknown:
        # A typo in a header would otherwise silently drop a column (e.g. a consent) for the whole file.
        raise ImportFileError(_("Line 1: unknown columns: %(cols)s.") % {"cols": "; ".join(unknown[:10])})
    duplicates = [_column_label(n, i) for i, n in enumerate(names, 1) if names.index(n) != i - 1]
    if duplicates:
        raise ImportFileError(_("Line 1: repeated columns: %(cols)s.") % {"cols": ", ".join(duplicates)})
    missing = sorted(REQUIRED_COLUMNS - set(names))
    if missing:
        raise ImportFileError(_("Line 1: missing columns: %(cols)s.") % {"cols": ", ".join(missing)})
    slots = sorted({int(m.group(1)) for n in names if (m := _PHONE_COLUMN.match(n))})
    for slot in slots:
        if f"phone_{slot}" not in names:
            raise ImportFileError(_("Line 1: phone_%(n)d columns without a phone_%(n)d column.") % {"n": slot})
    return Header(names=names, slots=slots)


def _column_label(name: str, position: int) -> str:
    """How a header problem names a column. A file sent without its header has data on line 1, so a header
    value is echoed only when it is close to a real column name (a typo); otherwise only its position."""
    close = get_close_matches(name, KNOWN_COLUMNS, n=1, cutoff=0.8)
    if close and _IDENTIFIER.match(name):
        return _("%(name)s (column %(pos)d; did you mean %(match)s?)") % {"name": name, "pos": position,
                                                                        "match": close[0]}
    return _("column %(pos)d") % {"pos": position}
