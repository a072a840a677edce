"""Reading the CSV stream: the header row, then one record at a time (memory stays flat)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TextIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from .rows import KNOWN_COLUMNS, REQUIRED_COLUMNS, ROW, ImportFileError, Rejected, RowError

# Decoding runs ahead in blocks: the bad byte is at or somewhat after the line named.
NOT_UTF8 = _lazy(
    "The file is not valid UTF-8 (at or after line %(line)d; rows before that line were imported). Save it as "
    "UTF-8: GBK/GB18030 exports are not accepted."
)
_PHONE_COLUMN = re.compile(r"^phone_(\d+)")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class Header:
    names: list[str]  # the column names, normalised, in file order
    slots: list[int]  # the phone numbers the file has columns for (1 for phone_1, ...)


@dataclass(frozen=True)
class Record:
    line: int  # the line the record starts on (a quoted field may span lines)
    values: list[str]


class CsvReader:
    """The header and then the records of one stream. A record that is not CSV is yielded as Rejected; bytes
    that are not UTF-8 end the file with ImportFileError (the records before them were already yielded)."""

    def __init__(self, stream: TextIO) -> None:
        self._reader = csv.reader(stream)

    def header(self) -> Header:
        try:
            row = next(self._reader)
        except StopIteration:
            raise ImportFileError(_("The file is empty: a header row is expected on line 1.")) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(NOT_UTF8 % {"line": 1}) from exc
        except csv.Error as exc:
            raise ImportFileError(_("Line 1: the header row cannot be read as CSV.")) from exc
        return read_header(row)

    def records(self) -> Iterator[Record | Rejected]:
        end_of_previous = self._reader.line_num
        while True:
            line = end_of_previous + 1
            try:
                values = next(self._reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise ImportFileError(NOT_UTF8 % {"line": line}) from exc
            except csv.Error:
                end_of_previous = self._reader.line_num
                yield Rejected(line, [RowError(line, ROW, _("The row cannot be read as CSV."))])
                continue
            end_of_previous = self._reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines are allowed (editors add them at the end)
            yield Record(line, values)


def read_header(header: list[str]) -> Header:
    names = [h.strip().lower() for h in header]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:]
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
