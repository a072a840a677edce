"""Name the queries a query-count test captured, so it asserts which queries run and not only how many."""

import re

from django.test.utils import CaptureQueriesContext

_TABLE = re.compile(r'^\s*(?:SELECT\b.*?\bFROM|INSERT INTO|UPDATE|DELETE FROM)\s+"(\w+)"', re.DOTALL)
_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")
_PARENTHESISED = re.compile(r"\([^()]*\)")


def _outer(sql: str) -> str:
    """The statement with every parenthesised part left out, so a subquery in the SELECT list (an annotation)
    does not hide the table the statement reads."""
    while (shorter := _PARENTHESISED.sub("", sql)) != sql:
        sql = shorter
    return sql


def _name(sql: str) -> str:
    if match := _SAVEPOINT.match(sql):
        return match.group(1)
    # A compound query (UNION) is "(SELECT ...) UNION ALL (SELECT ...)" on PostgreSQL: named after its first part.
    first = sql.lstrip()[1:] if sql.lstrip().startswith("(") else sql
    if match := _TABLE.match(_outer(first)):
        verb = first.split(None, 1)[0].upper()
        return match.group(1) if verb == "SELECT" else f"{verb} {match.group(1)}"
    return sql


def tables(queries: CaptureQueriesContext) -> list[str]:
    """One name per captured query, in order: the table a SELECT reads first ("collections_app_loan"), the verb
    and table of a write ("INSERT collections_app_note"), or the savepoint statement ("SAVEPOINT")."""
    return [_name(query["sql"]) for query in queries.captured_queries]
