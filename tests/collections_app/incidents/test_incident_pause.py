"""Incident pauses (应急预案): a compliance officer pauses all collection contact in a scope in one step, a second
officer lifts it. While it is in force the pre-check (single and batch), the desk's call and the worklist answer
INCIDENT_PAUSE for every contact in scope and nothing outside it; every start and lift is audited."""

import datetime as dt
import json
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.api.auth import api_token_create
from collections_app.contact.services import contact_start
from collections_app.desk import tasks
from collections_app.desk.services import worklist_build
from collections_app.incidents.services import incident_pause_lift, incident_pause_start
from collections_app.models import ContactAttempt, IncidentPause, Loan, TeamMember, WorklistEntry
from tests import factories as f
from tests.queries import tables

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)  # inside the CN window
PRE_CHECK_QUERIES = [
    "collections_app_apitoken",
    "collections_app_loan",  # with the policy generation: the pauses come from the process's copy
    "consent_app_consent",
    "INSERT audit_app_auditevent",
]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def second_officer(db):
    return f.make_compliance("compliance_two")


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def account(collector, *, jurisdiction="CN", ref=""):
    zone = {"CN": "Asia/Shanghai", "US": "America/New_York", "UK": "Europe/London"}[jurisdiction]
    loan = f.LoanFactory(assigned_collector=collector, due_date=MORNING.date() - dt.timedelta(days=45),
                         borrower=f.BorrowerFactory(jurisdiction=jurisdiction, timezone=zone),
                         **({"loan_ref": ref} if ref else {}))
    phone = f.PhoneNumberFactory(borrower=loan.borrower, e164=f.cn_mobile(Loan.objects.count() + 100))
    f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=90))
    return loan


def _post(api, url, body):
    return api.post(url, json.dumps(body), content_type="application/json")


def _check(api, loan):
    response = _post(api, "/api/v1/contact-checks",
                     {"loan_ref": loan.loan_ref, "phone": loan.borrower.phones.get().e164, "channel": "call"})
    assert response.status_code == 200, response.content
    return response.json()


def _codes(decision):
    return [reason["code"] for reason in decision["reasons"]]


def pause(actor, **kwargs):
    kwargs = {"scope": "all", "reason": "dialer_fault", "reference": "INC-2027-0001", **kwargs}
    return incident_pause_start(actor=actor, **kwargs)


# --- The pre-check ------------------------------------------------------------------------------------------------


def test_a_pause_of_everything_blocks_the_pre_check_with_no_next_allowed_time(api, collector, compliance):
    loan = account(collector)
    assert _check(api, loan)["allowed"]
    pause(compliance)
    decision = _check(api, loan)
    assert (decision["allowed"], _codes(decision), decision["next_allowed_at"]) == (False, ["INCIDENT_PAUSE"], None)


def test_a_pause_with_a_planned_end_gives_its_end_as_the_next_allowed_time(api, collector, compliance):
    loan = account(collector)
    end = MORNING + dt.timedelta(hours=3)
    pause(compliance, ends_at=end)
    decision = _check(api, loan)
    assert _codes(decision) == ["INCIDENT_PAUSE"]
    assert dt.datetime.fromisoformat(decision["next_allowed_at"]) == end


def test_a_jurisdictions_pause_blocks_its_borrowers_and_no_others_in_a_batch(api, collector, compliance):
    cn, us = account(collector, jurisdiction="CN"), account(collector, jurisdiction="US")
    pause(compliance, scope="jurisdiction", jurisdiction="CN")
    items = [{"loan_ref": loan.loan_ref, "phone": loan.borrower.phones.get().e164, "channel": "sms"}
             for loan in (cn, us)]
    response = _post(api, "/api/v1/contact-checks/batch", {"items": items})
    assert response.status_code == 200, response.content
    cn_result, us_result = (result["decision"] for result in response.json()["results"])
    assert "INCIDENT_PAUSE" in _codes(cn_result)
    assert "INCIDENT_PAUSE" not in _codes(us_result)


def test_a_teams_pause_blocks_its_collectors_loans_only(api, collector, other_collector, compliance, team_a):
    own, other = account(collector), account(other_collector)
    pause(compliance, scope="team", team=team_a)
    assert _codes(_check(api, own)) == ["INCIDENT_PAUSE"]
    assert _check(api, other)["allowed"]


def test_a_collector_who_joins_a_paused_team_brings_their_loans_under_the_pause(api, other_collector, compliance,
                                                                                   team_a):
    loan = account(other_collector)
    pause(compliance, scope="team", team=team_a)
    assert _check(api, loan)["allowed"]
    membership = TeamMember.objects.get(user=other_collector)
    membership.team = team_a
    membership.save()  # the team's members changed: the policy generation too
    assert _codes(_check(api, loan)) == ["INCIDENT_PAUSE"]


def test_the_dialers_contactable_list_shows_a_teams_pause_on_its_loans_only(api, collector, other_collector,
                                                                            compliance, team_a):
    own, other = account(collector), account(other_collector)
    pause(compliance, scope="team", team=team_a)
    response = api.get("/api/v1/contactable", {"channel": "call", "at": MORNING.isoformat()})
    assert response.status_code == 200, response.content
    codes = {row["loan_ref"]: _codes(row["decision"]) for row in response.json()["results"]}
    assert codes == {own.loan_ref: ["INCIDENT_PAUSE"], other.loan_ref: []}


@pytest.mark.parametrize("url", ["/api/v1/contact-checks", "/api/v1/contact-checks/batch"])
def test_the_pre_check_takes_its_four_queries_with_a_pause_in_force(api, collector, compliance, url):
    loan = account(collector)
    pause(compliance)
    item = {"loan_ref": loan.loan_ref, "phone": loan.borrower.phones.get().e164, "channel": "call"}
    body = {"items": [item]} if url.endswith("batch") else item
    _post(api, url, body)  # the token's last use, and the process's copy of this generation's pauses
    with CaptureQueriesContext(connection) as queries:
        response = _post(api, url, body)
    assert response.status_code == 200
    assert tables(queries) == PRE_CHECK_QUERIES


# --- The desk -----------------------------------------------------------------------------------------------------


def test_a_pause_refuses_the_desks_call_and_says_why(client, collector, compliance):
    loan = account(collector)
    pause(compliance)
    client.force_login(collector)
    response = client.post(reverse("call_start", args=[loan.loan_ref]),
                           {"phone_id": loan.borrower.phones.get().pk}, follow=True)
    assert not ContactAttempt.objects.exists()
    assert "Compliance has paused all collection contact for an incident." in response.content.decode()


def test_the_service_refuses_to_start_a_contact_under_a_pause(collector, compliance):
    loan = Loan.objects.select_related("borrower").get(pk=account(collector).pk)
    pause(compliance)
    attempt, decision = contact_start(loan=loan, phone=loan.borrower.phones.select_related("third_party").get(),
                                      channel="call", collector=collector)
    assert attempt is None and [r.code for r in decision.reasons] == ["INCIDENT_PAUSE"]


def test_the_banner_shows_on_every_desk_page_of_the_users_in_scope(client, collector, other_collector, supervisor,
                                                                    compliance, team_a):
    pause(compliance, scope="team", team=team_a, reference="INC-2027-0042", drill=True)
    for user, url, shown in ((collector, "worklist", True), (supervisor, "team", True), (compliance, "home", True),
                             (other_collector, "worklist", False)):
        client.force_login(user)
        body = client.get(reverse(url), follow=True).content.decode()
        assert ("INC-2027-0042" in body) is shown, user
        if shown:
            assert "a drill: contact is paused all the same" in body


def test_a_jurisdictions_banner_names_the_jurisdiction_in_words(client, collector, compliance):
    pause(compliance, scope="jurisdiction", jurisdiction="UK", reference="FCA-2027-0007")
    client.force_login(collector)
    body = client.get(reverse("worklist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "collection contact in United Kingdom is paused by compliance" in body


def test_the_banner_goes_once_the_pause_is_lifted(client, collector, compliance, second_officer):
    started = pause(compliance)
    client.force_login(collector)
    assert "INC-2027-0001" in client.get(reverse("worklist")).content.decode()
    incident_pause_lift(pause=started, actor=second_officer)
    assert "INC-2027-0001" not in client.get(reverse("worklist")).content.decode()


# --- The worklist -------------------------------------------------------------------------------------------------


@pytest.fixture
def sent():
    """Every re-evaluation task sent (eager Celery still runs each)."""
    with mock.patch.object(tasks.reevaluate_borrower_worklists, "delay",
                           wraps=tasks.reevaluate_borrower_worklists.delay) as spy:
        yield spy


@pytest.mark.parametrize("n", [1, 7])
def test_starting_and_lifting_judge_the_lists_in_scope_again_in_chunks(
    django_capture_on_commit_callbacks, settings, sent, collector, other_collector, compliance, second_officer,
    team_a, n,
):
    settings.WORKLIST_CHUNK_SIZE = 3
    with django_capture_on_commit_callbacks(execute=True):  # the accounts' own re-evaluations go out here
        own = [account(collector) for _ in range(n)]
        other = account(other_collector)
    worklist_build(collector=collector)
    worklist_build(collector=other_collector)
    assert all(WorklistEntry.objects.filter(contactable=True, loan__in=[*own, other]).values_list("pk", flat=True))
    sent.reset_mock()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        started = pause(compliance, scope="team", team=team_a)
    # One task per WORKLIST_CHUNK_SIZE borrowers in scope; the other team's list is left alone.
    assert sent.call_count == -(-n // 3)
    assert sorted(b for call in sent.call_args_list for b in call.args[0]) == sorted(loan.borrower_id for loan in own)
    entries = WorklistEntry.objects.filter(loan__in=own)
    assert {(e.contactable, tuple(e.reason_codes)) for e in entries} == {(False, ("INCIDENT_PAUSE",))}
    assert WorklistEntry.objects.get(loan=other).contactable
    assert tables(queries).count("INSERT collections_app_incidentpause") == 1

    sent.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        incident_pause_lift(pause=started, actor=second_officer)
    assert sent.call_count == -(-n // 3)
    assert set(WorklistEntry.objects.filter(loan__in=own).values_list("contactable", flat=True)) == {True}


@pytest.mark.parametrize("n", [1, 12])
def test_starting_a_pause_takes_the_same_queries_whatever_the_entries_in_scope(collector, compliance, n):
    for _ in range(n):
        account(collector)
    worklist_build(collector=collector)
    assert compliance.has_perm("collections_app.add_incidentpause")  # the officer's rights, read once per request
    with CaptureQueriesContext(connection) as queries:
        pause(compliance)
    assert tables(queries) == [
        "SAVEPOINT",
        "INSERT collections_app_incidentpause",
        "INSERT collections_app_historicalincidentpause",
        "INSERT audit_app_auditevent",
        "UPDATE collections_app_policygeneration",  # every process takes the pauses again at its next decision
        "collections_app_worklistentry",  # the borrowers of today's entries in scope, judged again on commit
        "RELEASE SAVEPOINT",
    ]


def test_the_worklist_page_shows_the_pause_as_the_reason(client, collector, compliance):
    loan = account(collector)
    worklist_build(collector=collector)
    pause(compliance)
    worklist_build(collector=collector)  # what the re-evaluation on commit writes (tested above), by hand here
    client.force_login(collector)
    body = client.get(reverse("worklist")).content.decode()
    blocked = body.split('class="card blocked"')[1]
    assert loan.loan_ref in blocked and "INCIDENT_PAUSE" in blocked


# --- Four eyes, rights and audit ---------------------------------------------------------------------------------


def test_the_officer_who_started_a_pause_cannot_lift_it(compliance):
    started = pause(compliance)
    with pytest.raises(PermissionDenied):
        incident_pause_lift(pause=started, actor=compliance)
    started.refresh_from_db()
    assert started.lifted_at is None


def test_a_second_officer_lifts_it_and_contact_resumes(api, collector, compliance, second_officer):
    loan = account(collector)
    started = pause(compliance)
    assert not _check(api, loan)["allowed"]
    incident_pause_lift(pause=started, actor=second_officer)
    assert _check(api, loan)["allowed"]
    started.refresh_from_db()
    assert (started.lifted_by, started.lifted_at) == (second_officer, MORNING)
    with pytest.raises(ValidationError):
        incident_pause_lift(pause=started, actor=compliance)


@pytest.mark.parametrize("role", ["collector", "supervisor"])
def test_collectors_and_supervisors_can_neither_start_nor_lift(request, compliance, second_officer, role):
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        pause(user)
    started = pause(compliance)
    with pytest.raises(PermissionDenied):
        incident_pause_lift(pause=started, actor=user)
    assert IncidentPause.objects.get().lifted_at is None


def test_a_reference_must_be_a_reference_and_a_scope_needs_its_target(compliance):
    with pytest.raises(ValidationError) as refused:
        incident_pause_start(scope="jurisdiction", reason="data_incident", reference="the dialer called everyone",
                             actor=compliance)
    assert set(refused.value.message_dict) == {"jurisdiction", "reference"}
    assert not IncidentPause.objects.exists()


def test_every_start_and_lift_is_audited_with_codes_and_ids_only(compliance, second_officer, team_a):
    started = pause(compliance, scope="team", team=team_a, note="Dialer vendor ticket says 300 repeat calls")
    incident_pause_lift(pause=started, actor=second_officer)
    events = AuditEvent.objects.filter(subject_id=str(started.pk)).order_by("pk")
    assert [(e.action, e.actor_id) for e in events] == [
        (AuditAction.INCIDENT_PAUSE_STARTED, compliance.pk), (AuditAction.INCIDENT_PAUSE_LIFTED, second_officer.pk)]
    started_event = events[0].data
    assert (started_event["scope"], started_event["team_id"], started_event["reason"], started_event["reference"]) \
        == ("team", team_a.pk, "dialer_fault", "INC-2027-0001")
    assert "vendor" not in json.dumps([e.data for e in events])
    # The note is kept encrypted on the row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM collections_app_incidentpause WHERE id = %s", [started.pk])
        assert b"vendor" not in bytes(cursor.fetchone()[0])
    assert IncidentPause.objects.get().note.startswith("Dialer vendor")


# --- The admin ----------------------------------------------------------------------------------------------------


def test_an_officer_starts_a_pause_in_admin_and_a_second_lifts_it_there(client, compliance, second_officer):
    client.force_login(compliance)
    response = client.post(reverse("admin:collections_app_incidentpause_add"), {
        "scope": "jurisdiction", "jurisdiction": "UK", "reason": "regulator_inquiry", "reference": "FCA-2027-11",
        "note": "", "ends_at_0": "", "ends_at_1": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    started = IncidentPause.objects.get()
    assert (started.scope, started.jurisdiction, started.started_by) == ("jurisdiction", "UK", compliance)
    lift = reverse("admin:collections_app_incidentpause_lift", args=[started.pk])
    own_page = client.get(lift).content.decode()
    assert "<p>A second compliance officer lifts a pause" in own_page and 'name="confirm"' not in own_page
    client.post(lift, {"confirm": "on"})
    started.refresh_from_db()
    assert started.lifted_at is None  # the same officer: refused
    client.force_login(second_officer)
    second_page = client.get(lift).content.decode()
    assert "<p>A second compliance officer lifts a pause" not in second_page and 'name="confirm"' in second_page
    assert client.post(lift, {"confirm": "on"}).status_code == 302
    started.refresh_from_db()
    assert started.lifted_by == second_officer
    listing = client.get(reverse("admin:collections_app_incidentpause_changelist")).content.decode()
    assert "FCA-2027-11" in listing and "0 h 00 min" in listing


def _pauses(compliance, second_officer, team, n, start):
    """`n` pauses of every scope, every other one lifted."""
    scopes = [{"scope": "team", "team": team}, {"scope": "jurisdiction", "jurisdiction": "UK"}, {"scope": "all"}]
    for i in range(start, start + n):
        started = pause(compliance, reference=f"INC-2027-{i:04d}", **scopes[(i - 1) % 3])
        if i % 2:
            incident_pause_lift(pause=started, actor=second_officer)


def test_the_admin_list_of_pauses_takes_the_same_queries_for_one_pause_and_for_many(
    client, compliance, second_officer, team_a,
):
    client.force_login(compliance)
    url = reverse("admin:collections_app_incidentpause_changelist")
    measured = []
    for n, start in ((1, 1), (11, 2)):
        _pauses(compliance, second_officer, team_a, n, start)
        client.get(url)  # the session and the officer's rights read once
        with CaptureQueriesContext(connection) as queries:
            listing = client.get(url).content.decode()
        assert all(f"INC-2027-{i:04d}" in listing for i in range(1, start + n))
        assert "Team A" in listing and "compliance_two" in listing
        measured.append(tables(queries))
    assert measured[0] == measured[1]


@pytest.mark.parametrize("role", ["collector", "supervisor"])
def test_collectors_and_supervisors_get_no_pause_in_admin(client, request, compliance, role):
    started = pause(compliance)
    client.force_login(request.getfixturevalue(role))
    for url in (reverse("admin:collections_app_incidentpause_changelist"),
                reverse("admin:collections_app_incidentpause_add"),
                reverse("admin:collections_app_incidentpause_lift", args=[started.pk])):
        assert client.get(url).status_code in (302, 403, 404), url
    client.post(reverse("admin:collections_app_incidentpause_lift", args=[started.pk]), {"confirm": "on"})
    assert IncidentPause.objects.get().lifted_at is None
