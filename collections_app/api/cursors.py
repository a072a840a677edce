"""Opaque cursors of the API's lists: the position after the last row returned, signed so that a client can only
send back one the API gave (a changed cursor is a 422, never a query on arbitrary ids)."""


from __future__ import annotations

from django.core import signing
from django.utils.translation import gettext as _

from .errors import ApiError
from .schemas import MAX_ID


def _signer(kind: str) -> signing.Signer:
    # One salt per list: a cursor of the attempts feed is not a position in the contactable list.
    return signing.Signer(salt=f"collections_app.api.cursor.{kind}")


def cursor_encode(kind: str, position: tuple[int, ...]) -> str:
    """The cursor of `position` (the last row's ids) in the list `kind`. The same position gives the same cursor."""
    return _signer(kind).sign_object(list(position), compress=False)


def cursor_decode(kind: str, cursor: str, *, field: str, length: int) -> tuple[int, ...]:
    """The position a cursor of the list `kind` names, or a 422 on `field` when it is not one the API gave."""
    try:
        position = _signer(kind).unsign_object(cursor)
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, field, _("Not a valid cursor.")) from exc
    if (
        not isinstance(position, list) or len(position) != length
        or not all(type(n) is int and 0 <= n <= MAX_ID for n in position)
    ):
        raise ApiError(422, field, _("Not a valid cursor."))
    return tuple(position)
