"""Django admin for compliance officers: masked personal data, phone search through the blind index, writes
through services, no deletes, bounded changelist queries, and the PII-access log on the borrower page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_log
from consent_app.admin.toolkit import NUMBER_SEARCH_MARK
from consent_app.models import Consent, InconvenientTime, PhoneNumber, Restriction
from consent_app.phones import blind_index
from consent_app.services import borrower_upsert
from tests import factories as f
from tests.queries import tables

pytestmark = pytest.mark.django_db

NUMBER = "+8613800138000"
MASKED = "+86 138****8000"
NATIONAL_ID = "110101199003077531"
TYPED_FORMATS = ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000"]

CHANGELISTS = [
    "consent_app_borrower",
    "consent_app_thirdpartycontact",
    "consent_app_phonenumber",
    "consent_app_consent",
    "consent_app_restriction",
    "consent_app_inconvenienttime",
    "collections_app_loan",
    "collections_app_payment",
    "collections_app_team",
    "collections_app_teammember",
    "audit_app_auditevent",
]


def changelist(name: str) -> str:
    return reverse(f"admin:{name}_changelist")


@pytest.fixture
def file(collector):
    """One borrower's file with a row in every admin: number, third party, consent, restriction, inconvenient
    time, loan, payment, audit event."""
    borrower = f.BorrowerFactory(borrower_ref="B-FILE-1", national_id=NATIONAL_ID)
    phone = f.PhoneNumberFactory(borrower=borrower, e164=NUMBER)
    contact = f.ThirdPartyContactFactory(borrower=borrower)
    f.PhoneNumberFactory(borrower=borrower, third_party=contact, e164="+8613900139000")
    consent = f.ConsentFactory(phone=phone)
    restriction = f.RestrictionFactory(borrower=borrower)
    InconvenientTime.objects.create(borrower=borrower, start=dt.time(22), end=dt.time(23, 59), note="works nights")
    loan = f.LoanFactory(borrower=borrower, assigned_collector=collector, loan_ref="L-FILE-1")
    f.PaymentFactory(loan=loan)
    audit_log(action=AuditAction.BORROWER_CREATED, subject=borrower, data={"borrower_ref": borrower.borrower_ref})
    return {"borrower": borrower, "phone": phone, "consent": consent, "restriction": restriction, "loan": loan}


def result_list(response) -> list:
    return list(response.context["cl"].result_list)


def search(client, name: str, typed: str):
    """Search a changelist the way its search box does: a POST, then the page it redirects to."""
    return client.post(changelist(name), {"q": typed, NUMBER_SEARCH_MARK: "1"}, follow=True)


# --- Access ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHANGELISTS)
def test_compliance_sees_every_changelist_with_numbers_and_ids_masked(client, compliance, file, name):
    client.force_login(compliance)
    response = client.get(changelist(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert NUMBER not in body
    assert "13800138000" not in body
    assert NATIONAL_ID not in body


def test_the_number_list_shows_masked_numbers(client, compliance, file):
    client.force_login(compliance)
    body = client.get(changelist("consent_app_phonenumber")).content.decode()
    assert MASKED in body
    assert "+86 139****9000" in body


def test_the_consent_list_shows_masked_numbers(client, compliance, file):
    client.force_login(compliance)
    body = client.get(changelist("consent_app_consent")).content.decode()
    assert MASKED in body


def test_the_borrower_list_shows_the_last_four_of_the_national_id_only(client, compliance, file):
    client.force_login(compliance)
    body = client.get(changelist("consent_app_borrower")).content.decode()
    assert "****7531" in body
    assert NATIONAL_ID not in body


@pytest.mark.parametrize("name", ["consent_app_borrower", "consent_app_phonenumber", "collections_app_loan",
                                  "audit_app_auditevent"])
def test_a_collector_is_sent_to_the_admin_login(client, collector, file, name):
    client.force_login(collector)
    response = client.get(changelist(name))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_a_supervisor_sees_only_their_teams_borrowers_and_loans(client, supervisor, other_collector, file):
    other_loan = f.LoanFactory(assigned_collector=other_collector, loan_ref="L-OTHER")
    client.force_login(supervisor)
    borrowers = result_list(client.get(changelist("consent_app_borrower")))
    assert borrowers == [file["borrower"]]
    loans = result_list(client.get(changelist("collections_app_loan")))
    assert loans == [file["loan"]]
    hidden = client.get(reverse("admin:collections_app_loan_change", args=[other_loan.pk]))
    assert (hidden.status_code, hidden["Location"]) == (302, reverse("admin:index"))  # as if it did not exist
    assert [str(m) for m in get_messages(hidden.wsgi_request)] == [
        f"loan with ID “{other_loan.pk}” doesn’t exist. Perhaps it was deleted?"]
    assert client.get(reverse("admin:consent_app_borrower_history", args=[other_loan.borrower.pk])).status_code == 404


def test_a_supervisor_cannot_read_the_audit_trail(client, supervisor):
    client.force_login(supervisor)
    assert client.get(changelist("audit_app_auditevent")).status_code == 403


def test_a_supervisor_sees_the_national_id_masked_on_the_borrower_page(client, supervisor, file):
    client.force_login(supervisor)
    body = client.get(reverse("admin:consent_app_borrower_change", args=[file["borrower"].pk])).content.decode()
    assert NATIONAL_ID not in body
    assert "****7531" in body


# --- Search by reference and by phone number ---------------------------------------------------------------------


@pytest.mark.parametrize("typed", TYPED_FORMATS)
def test_the_borrower_list_finds_a_borrower_by_a_number_typed_in_any_format(client, compliance, file, typed):
    other = f.BorrowerFactory(borrower_ref="B-OTHER")
    f.PhoneNumberFactory(borrower=other, e164="+8613800138001")
    client.force_login(compliance)
    response = search(client, "consent_app_borrower", typed)
    assert result_list(response) == [file["borrower"]]


@pytest.mark.parametrize("typed", TYPED_FORMATS)
def test_the_number_list_finds_the_number_typed_in_any_format(client, compliance, file, typed):
    client.force_login(compliance)
    response = search(client, "consent_app_phonenumber", typed)
    assert result_list(response) == [file["phone"]]
    assert NUMBER not in response.content.decode()


@pytest.mark.parametrize("typed", [*TYPED_FORMATS, "L-FILE-1", "B-FILE-1"])
def test_the_loan_list_finds_a_loan_by_loan_ref_borrower_ref_or_the_borrowers_number(client, compliance, file,
                                                                                     typed):
    f.LoanFactory(loan_ref="L-OTHER")
    client.force_login(compliance)
    response = search(client, "collections_app_loan", typed)
    assert result_list(response) == [file["loan"]]


def test_the_borrower_list_finds_by_reference(client, compliance, file):
    f.BorrowerFactory(borrower_ref="B-OTHER")
    client.force_login(compliance)
    assert result_list(client.get(changelist("consent_app_borrower"), {"q": "B-FILE"})) == [file["borrower"]]


def test_an_unknown_number_finds_nobody(client, compliance, file):
    client.force_login(compliance)
    response = search(client, "consent_app_borrower", "+86 139 0000 0000")
    assert result_list(response) == []


def test_the_consent_list_finds_the_consents_of_a_number(client, compliance, file):
    other_phone = f.PhoneNumberFactory(borrower=file["borrower"], e164="+8618600186000")
    f.ConsentFactory(phone=other_phone)
    client.force_login(compliance)
    response = search(client, "consent_app_consent", "138 0013 8000")
    assert result_list(response) == [file["consent"]]


# --- Borrower page: PII access log, masked numbers, edits through the service ------------------------------------


def test_opening_a_borrower_page_reveals_nothing_and_logs_no_pii_access(client, compliance, file):
    # The page shows the name and the national id masked: reading them is a reveal of its own
    # (test_admin_masking.py), not the opening of the page.
    borrower = file["borrower"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_borrower_change", args=[borrower.pk])
    body = client.get(url).content.decode()
    assert borrower.full_name not in body and NATIONAL_ID not in body
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEALED).exists()


def test_the_changelist_does_not_log_pii_access(client, compliance, file):
    client.force_login(compliance)
    client.get(changelist("consent_app_borrower"))
    assert not AuditEvent.objects.filter(action=AuditAction.PII_REVEALED).exists()


def test_the_borrower_page_shows_numbers_masked(client, compliance, file):
    client.force_login(compliance)
    body = client.get(reverse("admin:consent_app_borrower_change", args=[file["borrower"].pk])).content.decode()
    assert MASKED in body
    assert NUMBER not in body


def test_the_number_page_does_not_show_the_full_number(client, compliance, file):
    client.force_login(compliance)
    body = client.get(reverse("admin:consent_app_phonenumber_change", args=[file["phone"].pk])).content.decode()
    assert MASKED in body
    assert NUMBER not in body
    assert "13800138000" not in body


def _management_forms(response) -> dict[str, str]:
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def test_editing_a_borrower_in_admin_goes_through_the_service(client, compliance, file):
    borrower = file["borrower"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_borrower_change", args=[borrower.pk])
    data = _management_forms(client.get(url)) | {
        "new_full_name": "New Name", "new_national_id": "110101199003070000", "jurisdiction": "CN",
        "timezone": "Asia/Shanghai",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    borrower.refresh_from_db()
    assert borrower.national_id == "110101199003070000"
    event = AuditEvent.objects.filter(action=AuditAction.BORROWER_UPDATED).get()
    assert event.subject_id == str(borrower.pk)
    assert borrower.history.first().history_change_reason == "changed in admin"


def test_an_unknown_time_zone_is_refused_in_admin(client, compliance, file):
    borrower = file["borrower"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_borrower_change", args=[borrower.pk])
    data = _management_forms(client.get(url)) | {
        "full_name": "X", "national_id": NATIONAL_ID, "jurisdiction": "CN", "timezone": "Mars/Olympus",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert not AuditEvent.objects.filter(action=AuditAction.BORROWER_UPDATED).exists()


def test_adding_an_inconvenient_time_under_a_borrower_writes_an_admin_audit_event(client, compliance, file):
    borrower = file["borrower"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_borrower_change", args=[borrower.pk])
    data = _management_forms(client.get(url)) | {
        "full_name": borrower.full_name, "national_id": NATIONAL_ID, "jurisdiction": "CN",
        "timezone": "Asia/Shanghai",
        "inconvenient_times-TOTAL_FORMS": "1",
        "inconvenient_times-0-weekdays": "01234", "inconvenient_times-0-start": "12:00",
        "inconvenient_times-0-end": "13:00", "inconvenient_times-0-note": "lunch",
        "inconvenient_times-0-borrower": str(borrower.pk),
    }
    assert client.post(url, data).status_code == 302
    row = InconvenientTime.objects.get(note="lunch")
    event = AuditEvent.objects.get(action=AuditAction.ADMIN_CHANGE)
    assert (event.subject_type, event.subject_id) == ("consent_app.inconvenienttime", str(row.pk))
    assert event.data["op"] == "added"


def test_the_history_page_masks_changed_national_ids(client, compliance, file):
    borrower = file["borrower"]
    borrower_upsert(borrower_ref=borrower.borrower_ref, full_name="Changed Name", jurisdiction="CN",
                    national_id="110101199003079999", timezone_name="Asia/Shanghai", actor=compliance)
    client.force_login(compliance)
    body = client.get(reverse("admin:consent_app_borrower_history", args=[borrower.pk])).content.decode()
    assert "****9999" in body
    assert "110101199003079999" not in body
    assert NATIONAL_ID not in body
    assert "Changed Name" not in body


def test_reverting_a_history_version_is_refused(client, compliance, file):
    borrower = file["borrower"]
    version = borrower.history.first()
    client.force_login(compliance)
    url = reverse("admin:consent_app_borrower_simple_history", args=[borrower.pk, version.history_id])
    assert client.post(url, {"full_name": "x"}).status_code == 403


# --- Writes through services -------------------------------------------------------------------------------------


def test_the_withdraw_action_withdraws_and_writes_an_audit_event(client, compliance, file):
    consent = file["consent"]
    client.force_login(compliance)
    response = client.post(
        changelist("consent_app_consent"),
        {"action": "withdraw_selected", "_selected_action": [str(consent.pk)], "apply": "yes", "via": "phone",
         "channels": consent.channels, "evidence_ref": "REC-2026-0042", "confirm": "on"},
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert consent.withdrawn_via == "phone"
    event = AuditEvent.objects.get(action=AuditAction.CONSENT_WITHDRAWN)
    assert (event.subject_id, event.actor_id, event.data["via"]) == (str(consent.pk), compliance.pk, "phone")
    assert consent.history.first().history_change_reason == "withdrawn via phone"


def test_withdrawing_on_the_consent_page_can_keep_sms(client, compliance, file):
    consent = file["consent"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_consent_change", args=[consent.pk])
    response = client.post(url, {"withdraw_via": "letter", "withdraw_channels": ["call"],
                                 "withdraw_evidence_ref": "LETTER-7", "withdraw_confirm": "on"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_via == "letter"
    remaining = Consent.objects.filter(phone=consent.phone, withdrawn_at__isnull=True).get()
    assert remaining.channels == ["sms"]
    assert AuditEvent.objects.filter(action=AuditAction.CONSENT_WITHDRAWN, subject_id=str(consent.pk)).exists()


def test_granting_a_consent_in_admin_goes_through_the_service(client, compliance, file):
    phone = f.PhoneNumberFactory(borrower=file["borrower"], e164="+8618800188000")
    client.force_login(compliance)
    granted = timezone.localtime() - dt.timedelta(days=1)
    response = client.post(reverse("admin:consent_app_consent_add"), {
        "phone": str(phone.pk), "channels": ["sms"], "basis": "written", "evidence_ref": "letter-42",
        "granted_at_0": granted.strftime("%Y-%m-%d"), "granted_at_1": granted.strftime("%H:%M:%S"),
    })
    assert response.status_code == 302, response.context["errors"] if response.context else response
    consent = Consent.objects.get(evidence_ref="letter-42")
    assert consent.channels == ["sms"]
    assert AuditEvent.objects.filter(action=AuditAction.CONSENT_GRANTED, subject_id=str(consent.pk)).exists()


def test_the_lift_action_lifts_and_writes_an_audit_event(client, compliance, file):
    restriction = file["restriction"]
    client.force_login(compliance)
    response = client.post(
        changelist("consent_app_restriction"), {"action": "lift_selected", "_selected_action": [str(restriction.pk)]}
    )
    assert response.status_code == 302
    restriction.refresh_from_db()
    assert restriction.lifted_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.RESTRICTION_LIFTED, subject_id=str(restriction.pk)).exists()


def test_placing_a_restriction_in_admin_goes_through_the_service(client, compliance, file):
    client.force_login(compliance)
    start = timezone.localtime()
    response = client.post(reverse("admin:consent_app_restriction_add"), {
        "borrower": str(file["borrower"].pk), "loan": str(file["loan"].pk), "kind": "dispute",
        "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": start.strftime("%H:%M:%S"),
        "reason": "borrower disputes the balance",
    })
    assert response.status_code == 302, response.context["errors"] if response.context else response
    restriction = Restriction.objects.get(kind="dispute")
    assert restriction.created_by == compliance
    assert restriction.history.first().history_change_reason == "placed"
    event = AuditEvent.objects.get(action=AuditAction.RESTRICTION_PLACED)
    assert event.subject_id == str(restriction.pk)
    assert event.actor_id == compliance.pk


def test_a_restriction_on_another_borrowers_loan_is_refused(client, compliance, file):
    client.force_login(compliance)
    other = f.BorrowerFactory()
    start = timezone.localtime()
    response = client.post(reverse("admin:consent_app_restriction_add"), {
        "borrower": str(other.pk), "loan": str(file["loan"].pk), "kind": "dispute",
        "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": start.strftime("%H:%M:%S"), "reason": "x",
    })
    assert response.status_code == 200
    assert "loan" in response.context["adminform"].form.errors
    assert not Restriction.objects.filter(kind="dispute").exists()


def test_changing_a_number_status_needs_a_reason_and_goes_through_the_service(client, compliance, file):
    phone = file["phone"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_phonenumber_change", args=[phone.pk])
    data = {"status": "wrong_number", "consents-TOTAL_FORMS": "0", "consents-INITIAL_FORMS": "0"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "status_reason" in response.context["adminform"].form.errors
    response = client.post(url, data | {"status_reason": "borrower says wrong number"})
    assert response.status_code == 302
    phone.refresh_from_db()
    assert phone.status == "wrong_number"
    assert phone.last_status_reason == "borrower says wrong number"  # encrypted on the number, not in the audit
    event = AuditEvent.objects.get(action=AuditAction.PHONE_STATUS_CHANGED)
    assert event.data == {"from": "active", "to": "wrong_number"}


def test_reassigning_a_loan_in_admin_goes_through_the_service(client, compliance, other_collector, file):
    loan = file["loan"]
    client.force_login(compliance)
    url = reverse("admin:collections_app_loan_change", args=[loan.pk])
    data = _management_forms(client.get(url)) | {"assigned_collector": str(other_collector.pk)}
    assert client.post(url, data).status_code == 302
    loan.refresh_from_db()
    assert loan.assigned_collector == other_collector
    assert AuditEvent.objects.filter(action=AuditAction.LOAN_ASSIGNED, subject_id=str(loan.pk)).exists()


# --- Nothing is deleted ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model, key", [("consent", "consent"), ("restriction", "restriction"),
                                        ("borrower", "borrower"), ("phonenumber", "phone")])
def test_delete_is_refused(client, compliance, file, model, key):
    obj = file[key]
    client.force_login(compliance)
    url = reverse(f"admin:consent_app_{model}_delete", args=[obj.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("name", CHANGELISTS)
def test_no_changelist_offers_bulk_delete(client, compliance, file, name):
    client.force_login(compliance)
    response = client.get(changelist(name))
    action_form = response.context.get("action_form")
    choices = [value for value, _label in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in choices


def test_bulk_delete_by_post_is_refused(client, compliance, file):
    restriction = file["restriction"]
    client.force_login(compliance)
    client.post(changelist("consent_app_restriction"),
                {"action": "delete_selected", "_selected_action": [str(restriction.pk)], "post": "yes"})
    assert Restriction.objects.filter(pk=restriction.pk).exists()


def test_payments_and_loans_are_read_only_records(client, compliance, file):
    client.force_login(compliance)
    payment = file["loan"].payments.get()
    assert client.get(reverse("admin:collections_app_payment_delete", args=[payment.pk])).status_code == 403
    assert client.get(reverse("admin:collections_app_loan_delete", args=[file["loan"].pk])).status_code == 403
    assert client.get(reverse("admin:collections_app_payment_add")).status_code == 403
    assert client.get(reverse("admin:collections_app_loan_add")).status_code == 403


# --- Query counts (STYLE.md §7) ----------------------------------------------------------------------------------


def _borrower_row(n: int) -> None:
    borrower = f.BorrowerFactory()
    f.PhoneNumberFactory(borrower=borrower)


def _phone_row(n: int) -> None:
    f.PhoneNumberFactory(third_party=None)


def _consent_row(n: int) -> None:
    f.ConsentFactory()


def _restriction_row(n: int) -> None:
    f.RestrictionFactory(loan=f.LoanFactory())


def _loan_row(n: int) -> None:
    f.LoanFactory(assigned_collector=f.make_collector(f"qc{n}"))


def _payment_row(n: int) -> None:
    f.PaymentFactory()


def _third_party_row(n: int) -> None:
    f.ThirdPartyContactFactory()


def _audit_row(n: int) -> None:
    audit_log(action=AuditAction.IMPORT_RUN, subject_type="x", subject_id=n)


# Every admin page: the session, the user, the second-factor device the session was verified with, the user's own
# and their groups' permissions; the role check.
SIGNED_IN = ["collections_app_usersession", "auth_user", "otp_totp_totpdevice", "auth_permission", "auth_permission"]
ROLE = "auth_group"


def _rows(table: str, *extra: str) -> list[str]:
    """The filtered COUNT(*) and the page of rows (with its select_related joins), then the filters' lookups."""
    return [table, table, *extra]


def _date_hierarchy(table: str) -> list[str]:
    return [table, table]  # the first and last date, then the days that have rows


@pytest.mark.parametrize("name, make_row, expected", [
    ("consent_app_borrower", _borrower_row,
     [*SIGNED_IN, ROLE, *_rows("consent_app_borrower"), *_date_hierarchy("consent_app_borrower")]),
    ("consent_app_phonenumber", _phone_row,
     [*SIGNED_IN, ROLE, *_rows("consent_app_phonenumber", "consent_app_phonenumber")]),  # + the region filter
    ("consent_app_consent", _consent_row,
     [*SIGNED_IN, ROLE, *_rows("consent_app_consent"), *_date_hierarchy("consent_app_consent")]),
    ("consent_app_restriction", _restriction_row,
     [*SIGNED_IN, ROLE, *_rows("consent_app_restriction"), *_date_hierarchy("consent_app_restriction")]),
    ("consent_app_thirdpartycontact", _third_party_row,
     [*SIGNED_IN, ROLE, *_rows("consent_app_thirdpartycontact")]),
    ("collections_app_loan", _loan_row,  # + the collectors offered by the assigned-collector filter
     [*SIGNED_IN, ROLE, "auth_user", *_rows("collections_app_loan"), *_date_hierarchy("collections_app_loan")]),
    ("collections_app_payment", _payment_row,
     [*SIGNED_IN, ROLE, *_rows("collections_app_payment"), *_date_hierarchy("collections_app_payment")]),
    ("audit_app_auditevent", _audit_row,  # the subject filter's types first (the action filter lists the
     # enum's actions: no query); the role is read while rendering
     [*SIGNED_IN, "audit_app_auditevent", *_rows("audit_app_auditevent"), ROLE,
      *_date_hierarchy("audit_app_auditevent")]),
])
def test_a_changelist_runs_the_same_queries_for_1_and_20_rows(client, compliance, name, make_row, expected):
    client.force_login(compliance)
    url = changelist(name)
    make_row(0)
    client.get(url)  # warm the content-type cache
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    assert tables(one) == expected
    for n in range(1, 20):
        make_row(n)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(url)
    assert response.context["cl"].result_count == 20
    assert tables(twenty) == expected


def test_the_borrower_changelist_takes_nine_queries_for_30_borrowers(client, compliance):
    for n in range(30):
        _borrower_row(n)
    client.force_login(compliance)
    client.get(changelist("consent_app_borrower"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist("consent_app_borrower"))
    assert len(result_list(response)) == 30
    # Nothing per row, and nothing from the middleware (axes) once signed in.
    assert tables(queries) == [
        *SIGNED_IN, ROLE, *_rows("consent_app_borrower"), *_date_hierarchy("consent_app_borrower"),
    ]


# --- Every page renders ------------------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return f.User.objects.create_superuser("root", "root@example.invalid", f.PASSWORD)


@pytest.mark.parametrize("name", [
    "consent_app_borrower", "consent_app_thirdpartycontact", "consent_app_phonenumber", "consent_app_consent",
    "consent_app_restriction", "consent_app_inconvenienttime", "collections_app_team", "collections_app_teammember",
])
def test_add_pages_render(client, superuser, name):
    client.force_login(superuser)
    assert client.get(reverse(f"admin:{name}_add")).status_code == 200


@pytest.mark.parametrize("model, key", [
    ("consent_app_borrower", "borrower"), ("consent_app_phonenumber", "phone"), ("consent_app_consent", "consent"),
    ("consent_app_restriction", "restriction"), ("collections_app_loan", "loan"),
])
@pytest.mark.parametrize("persona", ["compliance", "supervisor"])
def test_change_and_history_pages_render_without_the_full_number(client, request, file, model, key, persona):
    client.force_login(request.getfixturevalue(persona))
    obj = file[key]
    for view in ("change", "history"):
        response = client.get(reverse(f"admin:{model}_{view}", args=[obj.pk]))
        assert response.status_code == 200, view
        assert NUMBER not in response.content.decode()


def test_a_historical_version_of_a_phone_renders_masked(client, compliance, file):
    phone = file["phone"]
    client.force_login(compliance)
    url = reverse("admin:consent_app_phonenumber_simple_history", args=[phone.pk, phone.history.first().history_id])
    response = client.get(url)
    assert response.status_code == 200
    assert NUMBER not in response.content.decode()


def test_adding_a_number_in_admin_parses_any_format_and_goes_through_the_service(client, superuser, file):
    client.force_login(superuser)
    inline = {"consents-TOTAL_FORMS": "0", "consents-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:consent_app_phonenumber_add"), inline | {
        "borrower": str(file["borrower"].pk), "number": "0086-186-0018-6000", "kind": "mobile",
    })
    assert response.status_code == 302, response.context["errors"] if response.context else response
    phone = PhoneNumber.objects.filter(borrower=file["borrower"]).order_by("-id").first()
    assert phone.e164 == "+8618600186000"
    assert phone.blind_index == blind_index("+8618600186000")
    assert AuditEvent.objects.filter(action=AuditAction.PHONE_ADDED, subject_id=str(phone.pk)).exists()
    duplicate = client.post(reverse("admin:consent_app_phonenumber_add"), inline | {
        "borrower": str(file["borrower"].pk), "number": "186 0018 6000", "kind": "mobile",
    })
    assert duplicate.status_code == 200
    assert "number" in duplicate.context["adminform"].form.errors



# --- Filters -------------------------------------------------------------------------------------------------------


def test_the_loan_list_filters_by_dpd_bucket_from_the_settings(client, compliance, collector, settings):
    today = timezone.localdate()
    loans = {
        dpd: f.LoanFactory(loan_ref=f"L-DPD-{dpd}", due_date=today - dt.timedelta(days=dpd))
        for dpd in (0, 1, 30, 31, 200)
    }
    paid = f.LoanFactory(loan_ref="L-PAID", status="paid", due_date=today - dt.timedelta(days=45))
    client.force_login(compliance)

    def refs(bucket: str) -> set[str]:
        response = client.get(changelist("collections_app_loan"), {"bucket": bucket})
        return {loan.loan_ref for loan in result_list(response)}

    assert refs("1-30") == {loans[1].loan_ref, loans[30].loan_ref}
    assert refs("31-60") == {loans[31].loan_ref}
    assert refs("181+") == {loans[200].loan_ref}
    assert refs("current") == {loans[0].loan_ref, paid.loan_ref}
    # Every loan the filter puts in a bucket is in that bucket by Loan.bucket (one definition, two code paths).
    for label, _low, _high in settings.COLLECTION_BUCKETS:
        assert all(loan.bucket == label for loan in result_list(
            client.get(changelist("collections_app_loan"), {"bucket": label})))


def test_the_loan_list_filters_by_assigned_collector(client, compliance, collector, other_collector):
    mine = f.LoanFactory(assigned_collector=collector)
    f.LoanFactory(assigned_collector=other_collector)
    unassigned = f.LoanFactory()
    client.force_login(compliance)
    assert result_list(client.get(changelist("collections_app_loan"), {"collector": collector.pk})) == [mine]
    assert result_list(client.get(changelist("collections_app_loan"), {"collector": "none"})) == [unassigned]


def test_the_consent_list_filters_by_state_and_channel(client, compliance, file):
    withdrawn = f.ConsentFactory(phone=file["phone"], allows_call=False, withdrawn_at=timezone.now(),
                                 withdrawn_via="letter")
    client.force_login(compliance)
    url = changelist("consent_app_consent")
    assert result_list(client.get(url, {"state": "active"})) == [file["consent"]]
    assert result_list(client.get(url, {"state": "withdrawn"})) == [withdrawn]
    assert result_list(client.get(url, {"channel": "both"})) == [file["consent"]]


def test_the_restriction_list_filters_lifted_or_not(client, compliance, file):
    lifted = f.RestrictionFactory(borrower=file["borrower"], lifted_at=timezone.now())
    client.force_login(compliance)
    url = changelist("consent_app_restriction")
    assert result_list(client.get(url, {"lifted": "no"})) == [file["restriction"]]
    assert result_list(client.get(url, {"lifted": "yes"})) == [lifted]
    assert result_list(client.get(url, {"in_force": "yes"})) == [file["restriction"]]
