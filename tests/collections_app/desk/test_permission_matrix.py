"""Every desk page × every role. A page a role may not use answers 404 (never 403: that would confirm the
account exists); anonymous users are sent to sign in. The actions also redirect when they refuse (a call the
policy blocks, an empty note), so an allowed action is checked by what it wrote, where it sends the user and
what it tells them; a refused one by the database being unchanged."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.models import ContactAttempt, Loan, Note, WorklistEntry
from consent_app.models import Restriction
from tests import factories as f

from .conftest import MORNING, make_account

pytestmark = pytest.mark.django_db

ROLES = ["collector", "other_collector", "supervisor", "other_supervisor", "compliance", "anonymous"]
LOGIN = "login"
DONE = "done"  # the action succeeded: see _expected_write and _landing

# page -> expected outcome per role, in ROLES order.
MATRIX = {
    "worklist": (200, 200, 404, 404, 404, LOGIN),
    "account": (200, 404, 200, 404, 200, LOGIN),
    "attempt": (200, 404, 404, 404, 404, LOGIN),
    "team": (404, 404, 200, 200, 200, LOGIN),
    "collector_attempts": (404, 404, 200, 404, 200, LOGIN),
    "reveal": (DONE, 404, DONE, 404, DONE, LOGIN),
    "call": (DONE, 404, 404, 404, 404, LOGIN),
    "note": (DONE, 404, DONE, 404, DONE, LOGIN),
    "hold_place": (404, 404, DONE, 404, DONE, LOGIN),
    "hold_lift": (404, 404, DONE, 404, DONE, LOGIN),
    # Another team's supervisor: the reference is not one of their team's, a form error that says no more than
    # for a reference that does not exist.
    "reassign": (404, 404, DONE, 422, DONE, LOGIN),
    "worklist_refresh": (DONE, DONE, 404, 404, 404, LOGIN),
}
ACTIONS = {page for page, cells in MATRIX.items() if DONE in cells}


@pytest.fixture
def world(collector, other_collector, supervisor, other_supervisor, compliance, account):
    phone = account.borrower.phones.get()
    attempt = ContactAttempt.objects.create(
        loan=account, phone=phone, borrower=account.borrower, channel="call", started_at=MORNING,
        collector=collector, compliant=True, outcome="no_answer",  # finished: an open call would hold up "call"
    )
    # A hold agreed for tomorrow: there is one to lift, and today's call is still allowed.
    hold = f.RestrictionFactory(borrower=account.borrower, kind="temporary_hold",
                                starts_at=MORNING + dt.timedelta(days=1))
    second_collector = f.make_collector("collector_a2", supervisor.supervised_teams.get())
    make_account(other_collector)  # so that their worklist has something to rebuild
    users = {
        "collector": collector, "other_collector": other_collector, "supervisor": supervisor,
        "other_supervisor": other_supervisor, "compliance": compliance, "anonymous": None,
    }
    return {"loan": account, "phone": phone, "attempt": attempt, "hold": hold, "users": users,
            "second_collector": second_collector, "collector": collector}


def _request(client, page, w):
    ref = w["loan"].loan_ref
    if page == "worklist":
        return client.get(reverse("worklist"))
    if page == "account":
        return client.get(reverse("loan_detail", args=[ref]))
    if page == "attempt":
        return client.get(reverse("attempt_detail", args=[w["attempt"].pk]))
    if page == "team":
        return client.get(reverse("team"))
    if page == "collector_attempts":
        return client.get(reverse("collector_attempts", args=[w["collector"].username]))
    if page == "reveal":
        return client.post(reverse("phone_reveal", args=[ref, w["phone"].pk]), {"reason": "verify identity"})
    if page == "call":
        return client.post(reverse("call_start", args=[ref]), {"phone_id": w["phone"].pk})
    if page == "note":
        return client.post(reverse("note_create", args=[ref]), {"text": "promised to call back"})
    if page == "hold_place":
        return client.post(reverse("hold_place", args=[ref]), {
            "reason": "supervisor pause", "until": (MORNING.date() + dt.timedelta(days=14)).isoformat()})
    if page == "hold_lift":
        return client.post(reverse("hold_lift", args=[ref, w["hold"].pk]),
                           {"reason": "borrower called back", "confirm": "on"})
    if page == "reassign":
        return client.post(reverse("team_reassign"), {"loan_ref": ref, "collector": w["second_collector"].username})
    if page == "worklist_refresh":
        return client.post(reverse("worklist_refresh"))
    raise AssertionError(page)


def _actors(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk").values_list("actor__username", flat=True))


def _written(page, w):
    """What the action left in the database, read back: who did it, and to what."""
    loan, hold = w["loan"], w["hold"]
    if page == "reveal":
        return _actors(AuditAction.PII_REVEALED)
    if page == "call":
        return list(ContactAttempt.objects.exclude(pk=w["attempt"].pk).values_list("collector__username", "loan"))
    if page == "note":
        return list(Note.objects.filter(loan=loan).values_list("author__username", "text"))
    if page == "hold_place":
        return list(Restriction.objects.exclude(pk=hold.pk).values_list("created_by__username", "loan", "kind"))
    if page == "hold_lift":
        lifted = Restriction.objects.get(pk=hold.pk).lifted_at is not None
        return [(actor, lifted) for actor in _actors(AuditAction.RESTRICTION_LIFTED)] or [(None, lifted)]
    if page == "reassign":
        assigned = Loan.objects.get(pk=loan.pk).assigned_collector.username
        return [(actor, assigned) for actor in _actors(AuditAction.LOAN_ASSIGNED)] or [(None, assigned)]
    if page == "worklist_refresh":
        return sorted(WorklistEntry.objects.values_list("collector__username", flat=True))
    raise AssertionError(page)


def _expected_write(page, w, user):
    """What `_written` reads after `user` did the action; `user` None: after nobody did."""
    loan, name = w["loan"], user.username if user else None
    return {
        "reveal": [name] if user else [],
        "call": [(name, loan.pk)] if user else [],
        "note": [(name, "promised to call back")] if user else [],
        "hold_place": [(name, loan.pk, "temporary_hold")] if user else [],
        "hold_lift": [(name, True)] if user else [(None, False)],
        "reassign": [(name, "collector_a2")] if user else [(None, "collector_a")],
        "worklist_refresh": [name] if user else [],
    }[page]


def _landing(page, w):
    """Where an action that succeeded sends the user, and what it tells them."""
    account = reverse("loan_detail", args=[w["loan"].loan_ref])
    if page == "call":
        new_attempt = ContactAttempt.objects.exclude(pk=w["attempt"].pk).get()
        return reverse("attempt_detail", args=[new_attempt.pk]), []
    return {
        "note": (account, ["Note added."]),
        "hold_place": (account, ["Hold placed."]),
        "hold_lift": (account, ["Hold lifted."]),
        "reassign": (reverse("team"), [f"{w['loan'].loan_ref} reassigned to collector_a2."]),
        "worklist_refresh": (reverse("worklist"), ["Your worklist is being rebuilt."]),
    }[page]


@pytest.mark.parametrize("page", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_every_page_for_every_role(client, world, page, role, django_capture_on_commit_callbacks):
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    expected = MATRIX[page][ROLES.index(role)]
    # The worklist rebuild is enqueued on commit: run what the commit would run, as a worker would.
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(client, page, world)
    if expected == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login") + "?next=")
    elif expected == DONE and page == "reveal":
        assert response.status_code == 200
        assert world["phone"].e164 in response.content.decode() and response["Cache-Control"] == "no-store"
    elif expected == DONE:
        location, told = _landing(page, world)
        assert (response.status_code, response["Location"]) == (302, location)
        assert [str(m) for m in get_messages(response.wsgi_request)] == told
    else:
        assert response.status_code == expected, (page, role, response.status_code)
    if page in ACTIONS:
        assert _written(page, world) == _expected_write(page, world, user if expected == DONE else None)
