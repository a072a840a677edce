"""Personas shared by all tests: a collector, another collector, their supervisor, another team's supervisor,
a compliance officer, an integration user."""

import pytest
from celery.result import allow_join_result
from django.test import Client

from tests import factories as f
from tests import second_factor


@pytest.fixture(autouse=True)
def _staff_signed_in_with_second_factor(monkeypatch):
    """`client.force_login(user)` signs a supervisor, compliance officer or staff user in with their second factor
    given, as after a real sign-in (tests/second_factor.py; `force_login_without_second_factor` for a session that
    has given none)."""
    monkeypatch.setattr(Client, "force_login", second_factor.force_login)


@pytest.fixture(autouse=True)
def _no_reevaluation_left_from_another_test():
    """A test's transaction rolls back, so the borrowers its changes gathered for re-evaluation (desk/signals.py)
    would ride along with the next test's first commit on the same worker: each test starts without them."""
    from collections_app.desk.signals import forget_pending

    forget_pending()


@pytest.fixture(autouse=True)
def _eager_results_can_be_read():
    """Tests read eager tasks' results with .get(). Celery refuses that "inside a task" by a process-wide flag,
    which the browser tests' live server thread raises while it runs an eager task for a page; two threads running
    eager tasks at once can leave it raised (each restores what it saw). Each test starts with it lowered."""
    with allow_join_result():
        yield


@pytest.fixture
def team_a(db):
    supervisor, team = f.make_supervisor("supervisor_a", "Team A")
    return team


@pytest.fixture
def supervisor(team_a):
    return team_a.supervisor


@pytest.fixture
def other_supervisor(db):
    supervisor, _team = f.make_supervisor("supervisor_b", "Team B")
    return supervisor


@pytest.fixture
def collector(team_a):
    return f.make_collector("collector_a", team_a)


@pytest.fixture
def other_collector(other_supervisor):
    return f.make_collector("collector_b", other_supervisor.supervised_teams.get())


@pytest.fixture
def compliance(db):
    return f.make_compliance("compliance_officer")


@pytest.fixture
def integration_user(db):
    return f.make_integration("loan_system")


@pytest.fixture
def loan(collector):
    """An overdue CN loan assigned to `collector`, with one consented mobile number."""
    loan = f.LoanFactory(assigned_collector=collector)
    phone = f.PhoneNumberFactory(borrower=loan.borrower)
    f.ConsentFactory(phone=phone)
    return loan


REFERENCE_DATA = [
    ("collections_app.migrations.0003_roles", "create_roles"),
    ("collections_app.migrations.0005_policy_presets", "load_presets"),
    ("collections_app.migrations.0006_policy_permissions", "grant"),
    ("collections_app.migrations.0009_complaints", "grant"),
    ("collections_app.migrations.0010_compliance_add_permissions", "grant"),
    ("collections_app.migrations.0011_plans", "install"),
    ("collections_app.migrations.0017_policy_generation", "create_row"),
]


@pytest.fixture
def reference_data(django_db_blocker):
    """Transactional tests (threads, a live server) end by flushing the database, which also removes what the
    data migrations created (role groups, policy presets, approval limits). Re-apply those idempotent steps so
    a transactional test does not depend on which test ran before it on the same worker."""
    import importlib

    from django.apps import apps

    with django_db_blocker.unblock():
        for module, function in REFERENCE_DATA:
            getattr(importlib.import_module(module), function)(apps, None)
