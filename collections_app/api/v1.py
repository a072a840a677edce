"""The integration API, v1 (DESIGN.md "Integration API"): the loan system, the dialer and the SMS gateway.

This package holds the NinjaAPI, its bearer authentication, its JSON parser and renderer, and its error handlers;
each area mounts its own router here (loans, contact, complaints). Views parse, authorize (bearer token of an
Integration user), call services and render. Every write endpoint runs in one transaction, so a failure in a later
step rolls back the earlier ones, and passes the token's user as the actor, so the audit trail names the
integration. Errors share one body, `{"detail": [{"field": "phones[1].number", "message": "..."}]}`, and never
echo the personal data they are about (no numbers, names or ids).
"""


from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from ..complaints.api import router as complaints_router
from ..contact.api import router as contact_router
from ..loans.api import router as loans_router
from .auth import ApiTokenAuth, docs_token_required
from .errors import BodyNotAnObject, register_error_handlers


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class DecimalJsonParser(Parser):
    """JSON numbers become Decimal, never float: 100.005 must stay three decimals (and be refused). NaN and
    Infinity, which Python's json module would accept, are not JSON. A body that is JSON but not an object
    (`1.5`, `null`, `[]`) is refused too, also where the body is optional (an empty body is no body)."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_float=Decimal, parse_constant=_refuse_constant)
        if not isinstance(data, dict):
            raise BodyNotAnObject
        return data


class _Encoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        # Full precision and an explicit offset ("+00:00"), the same form as the decision's timestamps
        # (DjangoJSONEncoder would cut microseconds and write "Z").
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


class _Renderer(JSONRenderer):
    encoder_class = _Encoder


api = NinjaAPI(
    title="Collector Desk integration API",
    version="1",
    description="For the loan system, the dialer and the SMS gateway. See docs/api.md.",
    auth=ApiTokenAuth(),
    parser=DecimalJsonParser(),
    renderer=_Renderer(),
    urls_namespace="api-v1",
    docs_decorator=docs_token_required,
)
register_error_handlers(api)

# Each area's router; mounted here so every endpoint shares the bearer auth, the parser and the error handlers.
api.add_router("", loans_router)
api.add_router("", contact_router)
api.add_router("/complaints", complaints_router)
