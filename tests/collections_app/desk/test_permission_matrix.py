"""Every desk page × every role. A page a role may not use answers 404 (never 403: that would confirm the
account exists); anonymous users are sent to sign in."""

import pytest
from django.urls import reverse
from django.utils import timezone

from collections_app.models import ContactAttempt
from tests import factories as f

pytestmark = pytest.mark.django_db

ROLES = ["collector", "other_collector", "supervisor", "other_supervisor", "compliance", "anonymous"]
LOGIN = "login"

# page -> expected status per role, in ROLES order. 302 = redirect after a successful POST.
MATRIX = {
    "worklist": (200, 200, 404, 404, 404, LOGIN),
    "account": (200, 404, 200, 404, 200, LOGIN),
    "attempt": (200, 404, 404, 404, 404, LOGIN),
    "team": (404, 404, 200, 200, 200, LOGIN),
    "collector_attempts": (404, 404, 200, 404, 200, LOGIN),
    "reveal": (200, 404, 200, 404, 200, LOGIN),
    "call": (302, 404, 404, 404, 404, LOGIN),
    "note": (302, 404, 302, 404, 302, LOGIN),
    "hold_place": (404, 404, 302, 404, 302, LOGIN),
    "hold_lift": (404, 404, 302, 404, 302, LOGIN),
    "reassign": (404, 404, 302, 404, 302, LOGIN),
    "worklist_refresh": (302, 302, 404, 404, 404, LOGIN),
}


@pytest.fixture
def world(collector, other_collector, supervisor, other_supervisor, compliance, account):
    phone = account.borrower.phones.get()
    attempt = ContactAttempt.objects.create(
        loan=account, phone=phone, borrower=account.borrower, channel="call", started_at=timezone.now(),
        collector=collector, compliant=True,
    )
    hold = f.RestrictionFactory(borrower=account.borrower, kind="temporary_hold")
    second_collector = f.make_collector("collector_a2", supervisor.supervised_teams.get())
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
        return client.post(reverse("hold_place", args=[ref]), {"reason": "supervisor pause"})
    if page == "hold_lift":
        return client.post(reverse("hold_lift", args=[ref, w["hold"].pk]))
    if page == "reassign":
        return client.post(reverse("team_reassign"), {"loan_ref": ref, "collector": w["second_collector"].username})
    if page == "worklist_refresh":
        return client.post(reverse("worklist_refresh"))
    raise AssertionError(page)


@pytest.mark.parametrize("page", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_every_page_for_every_role(client, world, page, role):
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    expected = MATRIX[page][ROLES.index(role)]
    response = _request(client, page, world)
    if expected == LOGIN:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == expected, (page, role, response.status_code)
