"""Name the queries a query-count test captured, so it asserts which queries run and not only how many."""

import re

from django.test.utils import CaptureQueriesContext

_TABLE = re.compile(r'^\s*(?:SELECT\b.*?\bFROM|INSERT INTO|UPDATE|DELETE FROM)\s+"(\w+)"', re.DOTALL)
_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")


def _name(sql: str) -> str:
    if match := _SAVEPOINT.match(sql):
        return match.group(1)
    if match := _TABLE.match(sql):
        verb = sql.split(None, 1)[0].upper()
        return match.group(1) if verb == "SELECT" else f"{verb} {match.group(1)}"
    return sql


def tables(queries: CaptureQueriesContext) -> list[str]:
    """One name per captured query, in order: the table a SELECT reads first ("collections_app_loan"), the verb
    and table of a write ("INSERT collections_app_note"), or the savepoint statement ("SAVEPOINT")."""
    return [_name(query["sql"]) for query in queries.captured_queries]
