"""A bounded schemathesis run against the integration API's OpenAPI document (/api/v1/openapi.json), in process
through Django's WSGI application, with an Integration user's bearer token.

It fails on any 5xx (`not_a_server_error`), on a status the operation does not document
(`status_code_conformance`) and on a body that does not match the documented one (`response_schema_conformance`),
for valid and invalid input alike (generation mode `all`: the coverage phase's boundary values, then up to
MAX_EXAMPLES generated cases per operation). Generation is derandomized with a fixed seed and no example database,
so every run sends the same requests.

Marker `fuzz` (not in `make test`; .ci/run runs it once, on PostgreSQL):
`.venv/bin/python -m pytest -m fuzz tests/fuzz`.
"""

from __future__ import annotations

import collections
import logging
import time

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from collections_app.api.auth import api_token_create
from consent_app.models import RestrictionKind
from tests import factories as f

pytestmark = pytest.mark.fuzz

SEED = 20270303
MAX_EXAMPLES = 60

# Records the generated requests can name: references, ids, the number and the collector are drawn from these
# part of the time, so requests get past the lookups (404, 422 "not a number of this borrower") into the services;
# and instants in the past but after the presets' policies took effect (2020), so contact attempts are judged.
WORLD = {
    "borrower_ref": "B-FUZZ-1", "loan_ref": "L-FUZZ-1", "phone": "+8613800138000", "consent_id": 90001,
    "restriction_id": 90001, "collector": "collector_fuzz",
}
INSTANTS = ["2026-03-02T10:00:00+08:00", "2025-11-20T21:30:00-05:00"]
KNOWN = {
    "path.borrower_ref": ("borrower_ref", 0.5),
    "path.loan_ref": ("loan_ref", 0.5),
    "path.consent_id": ("consent_id", 0.7),
    "path.restriction_id": ("restriction_id", 0.7),
    "body.borrower_ref": ("borrower_ref", 0.7),
    "body.loan_ref": ("loan_ref", 0.7),
    "body.phone": ("phone", 0.7),
    "body.collector": ("collector", 0.5),
    "body.collectors[*]": ("collector", 0.5),
    "body.items[*].loan_ref": ("loan_ref", 0.7),
    "body.items[*].phone": ("phone", 0.7),
    "body.items[*].at": ("instant", 0.5),
    "query.collector": ("collector", 0.5),
    "query.at": ("instant", 0.5),
    **{f"body.{field}": ("instant", 0.5) for field in (
        "started_at", "at", "granted_at", "withdrawn_at", "starts_at", "paid_at", "received_at"
    )},
}

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "headers": {"Accept-Language": "en"},
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
    "dictionaries": {
        **{name: {"values": [value]} for name, value in WORLD.items()}, "instant": {"values": INSTANTS},
    },
    "parameters": {
        location: {"dictionary": name, "probability": probability} for location, (name, probability) in KNOWN.items()
    },
})

# Loaded at import, which is why tests/fuzz/conftest.py collects this module only under `-m fuzz`. (The lazy loader,
# schemathesis.pytest.from_fixture, fails on pytest 9.2 in schemathesis 4.32.5: it reads `Function._nodeid`.)
# Django's WSGI handler is config.wsgi's application without that module's start-up database check.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=CONFIG)

# Status codes answered, per operation: printed at the end of the run.
ANSWERED: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    # Refused requests are the bulk of the run: keep Django's warning per 4xx out of the report (5xx still log).
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    started = time.monotonic()
    yield
    logger.setLevel(level)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for label, statuses in sorted(ANSWERED.items()):
            histogram = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
            reporter.write_line(f"fuzz {label}: {sum(statuses.values())} requests ({histogram})")
        total = sum(sum(statuses.values()) for statuses in ANSWERED.values())
        reporter.write_line(f"fuzz: {total} requests in {time.monotonic() - started:.0f} s (seed {SEED})")


@pytest.fixture
def token(transactional_db, reference_data):
    """Each operation's run starts from the same records (WORLD) and commits each request, as in production
    (the audit chain is sealed after each commit)."""
    collector = f.make_collector(WORLD["collector"])
    loan = f.LoanFactory(
        loan_ref=WORLD["loan_ref"], borrower__borrower_ref=WORLD["borrower_ref"], assigned_collector=collector
    )
    phone = f.PhoneNumberFactory(borrower=loan.borrower, e164=WORLD["phone"])
    f.ConsentFactory(pk=WORLD["consent_id"], phone=phone)
    f.RestrictionFactory(
        pk=WORLD["restriction_id"], borrower=loan.borrower, kind=RestrictionKind.DISPUTE, ends_at=None
    )
    _row, token = api_token_create(user=f.make_integration("loan_system_fuzz"))
    return token


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_keeps_to_its_schema(case, token):
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
    ANSWERED[case.operation.label][response.status_code] += 1
