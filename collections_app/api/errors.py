"""The API's one error body, `{"detail": [{"field": ..., "message": ...}]}`, for every error it can raise. Messages
never echo the personal data they are about."""


from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ValidationError as PydanticValidationError

from collections_app.contact.checks import LoanNotFound
from collections_app.contact.selectors import PolicyMissing

# --- Errors -----------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A 4xx with one field and one message (unknown reference, conflict)."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


class BodyNotAnObject(ValueError):
    """The body is JSON but not an object. Raised by the API's parser; ninja wraps it in its 400 "Cannot parse
    request body", which is answered as a 422 naming the body: the request is well-formed, its shape is wrong."""


# What a handler answers: the status, the error items and any extra headers. `register_error_handlers` renders it
# with the API's own renderer.
ErrorReply = tuple[int, list[dict[str, Any]], dict[str, str]]


def _reply(status: int, items: list[dict[str, Any]], headers: dict[str, str] | None = None) -> ErrorReply:
    return status, items, headers or {}


def _field_from_loc(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """("body", "payload", "phones", 1, "number") -> "phones[1].number"; ("path", "loan_ref") -> "loan_ref"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query"):
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == "payload":
            parts.pop(0)
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


_PYDANTIC_MESSAGES = {
    "missing": gettext_noop("This field is required."),
    "extra_forbidden": gettext_noop("Unknown field."),
    "timezone_aware": gettext_noop("An ISO 8601 timestamp with a time zone offset is required."),
    "string_pattern_mismatch": gettext_noop(
        "Use 1 to 64 letters, digits and . _ : - (starting with a letter or digit)."
    ),
}


def _schema_items(errors: Sequence[Any], field_of: Callable[[Any], str | None]) -> list[dict[str, Any]]:
    # Built from the error type and pydantic's message only, never from the input (which may be personal data).
    items = []
    for error in errors:
        known = _PYDANTIC_MESSAGES.get(error.get("type", ""))
        message = _(known) if known else str(error.get("msg") or "Invalid value.").removeprefix("Value error, ")
        message = message[:1].upper() + message[1:]
        items.append({"field": field_of(error.get("loc", ())), "message": message})
    return items


def _on_schema_error(exc: NinjaValidationError) -> ErrorReply:
    return _reply(422, _schema_items(exc.errors, _field_from_loc))


def _safe_message(error: DjangoValidationError) -> str:
    # Django's own field messages may interpolate the submitted value ("Value 'x' is not a valid choice."):
    # render those generically, since the value may be personal data.
    params = error.params or {}
    if "value" in params:
        return _("Invalid value.")
    return str(error.message % params if params else error.message)


def _on_django_validation_error(exc: DjangoValidationError) -> ErrorReply:
    items: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                items.append({"field": None if field == "__all__" else field, "message": _safe_message(error)})
    else:
        items = [{"field": None, "message": _safe_message(error)} for error in exc.error_list]
    return _reply(422, items)


def _on_api_error(exc: ApiError) -> ErrorReply:
    return _reply(exc.status, [{"field": exc.field, "message": exc.message}])


def _on_http_error(exc: HttpError) -> ErrorReply:
    if isinstance(exc, AuthenticationError):
        return _reply(
            401, [{"field": None, "message": _("A valid bearer token is required.")}],
            {"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc.__cause__, BodyNotAnObject):
        return _reply(422, [{"field": "body", "message": _("The body must be a JSON object.")}])
    if exc.status_code == 400:
        # ninja's own text is English only; the body could not be parsed (not JSON, or NaN/Infinity).
        return _reply(400, [{"field": "body", "message": _("The body is not valid JSON.")}])
    return _reply(exc.status_code, [{"field": None, "message": str(exc)}])


def _on_too_big(exc: RequestDataTooBig) -> ErrorReply:
    # Django raises it when the body is read (DATA_UPLOAD_MAX_MEMORY_SIZE), which the API's parser does inside
    # the operation: answered here like every other error, whatever DEBUG says.
    return _reply(413, [{"field": "body", "message": _("The request body is too large.")}])


def _on_404(exc: Http404) -> ErrorReply:
    return _reply(404, [{"field": None, "message": _("Not found.")}])


def _on_loan_not_found(exc: LoanNotFound) -> ErrorReply:
    return _reply(404, [{"field": "loan_ref", "message": _("No such loan.")}])


def _on_policy_missing(exc: PolicyMissing) -> ErrorReply:
    # The server lacks a policy for that jurisdiction and instant: not the client's input, hence 409.
    return _reply(409, [{"field": None, "message": str(exc)}])


def _on_integrity_error(exc: IntegrityError) -> ErrorReply:
    # Two requests raced to create the same record (same ref or external id): the other one won. Retrying
    # returns the record it wrote.
    return _reply(
        409, [{"field": None, "message": _("A concurrent request wrote the same record; retry.")}]
    )


def _on_data_error(exc: DataError) -> ErrorReply:
    return _reply(422, [{"field": None, "message": _("A value is out of range.")}])


_HANDLERS: tuple[tuple[type[Exception], Callable[[Any], ErrorReply]], ...] = (
    (NinjaValidationError, _on_schema_error),
    (DjangoValidationError, _on_django_validation_error),
    (ApiError, _on_api_error),
    (HttpError, _on_http_error),
    (RequestDataTooBig, _on_too_big),
    (Http404, _on_404),
    (LoanNotFound, _on_loan_not_found),
    (PolicyMissing, _on_policy_missing),
    (IntegrityError, _on_integrity_error),
    (DataError, _on_data_error),
)


def _item_field(loc: Sequence[Any]) -> str | None:
    # Within one item of a batch: "at", "phone"; null for the item as a whole (not an object).
    return _field_from_loc(list(loc)) if loc else None


def item_error(exc: Exception) -> dict[str, Any]:
    """One item's error in a batch answer: `{"status", "detail"}`, the status and body the single endpoint would
    answer for that item alone (an item that does not match its schema is a 422 naming the item's own fields)."""
    if isinstance(exc, PydanticValidationError):
        return {"status": 422, "detail": _schema_items(exc.errors(include_input=False), _item_field)}
    for exc_class, on_error in _HANDLERS:
        if isinstance(exc, exc_class):
            status, items, _headers = on_error(exc)
            return {"status": status, "detail": items}
    raise exc


def register_error_handlers(api: NinjaAPI) -> None:
    """Answer every error above in the API's one body, rendered by `api`'s renderer."""
    for exc_class, on_error in _HANDLERS:
        # ninja types a handler's second argument as the exception *or its class*; handlers get the instance.
        api.add_exception_handler(exc_class, _render_with(api, on_error))  # type: ignore[arg-type]


def _render_with(
    api: NinjaAPI, on_error: Callable[[Any], ErrorReply]
) -> Callable[[HttpRequest, Exception], HttpResponse]:
    def handler(request: HttpRequest, exc: Exception) -> HttpResponse:
        status, items, headers = on_error(exc)
        response = api.create_response(request, {"detail": items}, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    return handler
