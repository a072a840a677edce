"""The audit trail in admin: compliance reads, filters and searches it; nobody edits, deletes or bulk-acts on it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_chain_seal, audit_log
from tests import factories as f

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audit_app_auditevent_changelist"


@pytest.fixture
def events(compliance):
    borrower = f.BorrowerFactory()
    consent = f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=borrower))
    written = [
        audit_log(action=AuditAction.BORROWER_CREATED, subject=borrower, actor=compliance,
                  data={"borrower_ref": borrower.borrower_ref}),
        audit_log(action=AuditAction.CONSENT_GRANTED, subject=consent, actor=compliance, data={"channels": ["call"]}),
        audit_log(action=AuditAction.CONSENT_WITHDRAWN, subject=consent, actor=compliance, data={"via": "letter"}),
        audit_log(action=AuditAction.IMPORT_RUN, subject_type="import", subject_id="batch-7"),
    ]
    audit_chain_seal()
    return [AuditEvent.objects.get(pk=e.pk) for e in written]


def _listed(response) -> list[AuditEvent]:
    return list(response.context["cl"].result_list)


def test_compliance_reads_the_trail_newest_first(client, compliance, events):
    client.force_login(compliance)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert [e.pk for e in _listed(response)] == [e.pk for e in reversed(events)]
    body = response.content.decode()
    # Subjects and actions by their names, not their codes.
    assert "consent #" in body and "consent_app.consent#" not in body
    assert "Consent withdrawn" in body and ">consent.withdrawn<" not in body
    assert "system" in body  # the import ran without a user


def test_the_trail_filters_by_action(client, compliance, events):
    client.force_login(compliance)
    response = client.get(reverse(CHANGELIST), {"action": AuditAction.CONSENT_WITHDRAWN.value})
    assert [e.pk for e in _listed(response)] == [events[2].pk]


def test_the_trail_filters_by_date(client, compliance, events):
    client.force_login(compliance)
    today = timezone.localdate()
    response = client.get(reverse(CHANGELIST), {
        "occurred_at__year": today.year, "occurred_at__month": today.month, "occurred_at__day": today.day,
    })
    assert len(_listed(response)) == len(events)
    response = client.get(reverse(CHANGELIST), {"occurred_at__year": today.year - 1})
    assert _listed(response) == []


def test_the_trail_searches_by_exact_subject_id(client, compliance, events):
    client.force_login(compliance)
    consent_id = events[1].subject_id
    response = client.get(reverse(CHANGELIST), {"q": consent_id, "subject_type": "consent_app.consent"})
    assert sorted(e.pk for e in _listed(response)) == [events[1].pk, events[2].pk]
    assert [e.pk for e in _listed(client.get(reverse(CHANGELIST), {"q": "batch-7"}))] == [events[3].pk]


def test_the_subject_links_to_its_admin_page(client, compliance, events):
    client.force_login(compliance)
    body = client.get(reverse(CHANGELIST)).content.decode()
    borrower_url = reverse("admin:consent_app_borrower_change", args=[events[0].subject_id])
    assert f'href="{borrower_url}"' in body


def test_the_event_page_is_a_view(client, compliance, events):
    client.force_login(compliance)
    response = client.get(reverse("admin:audit_app_auditevent_change", args=[events[2].pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert events[2].hash in body
    assert "letter" in body
    assert 'name="_save"' not in body
    assert 'name="_continue"' not in body


def test_the_trail_offers_no_bulk_action(client, compliance, events):
    client.force_login(compliance)
    response = client.get(reverse(CHANGELIST))
    assert response.context["action_form"] is None
    client.post(reverse(CHANGELIST),
                {"action": "delete_selected", "_selected_action": [str(e.pk) for e in events], "post": "yes"})
    assert AuditEvent.objects.count() == len(events)


def test_the_admin_index_offers_no_add_link_for_events(client, compliance, events):
    client.force_login(compliance)
    assert reverse("admin:audit_app_auditevent_add") not in client.get(reverse("admin:index")).content.decode()


def test_supervisors_and_collectors_cannot_read_the_trail(client, supervisor, collector, events):
    client.force_login(supervisor)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    client.force_login(collector)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
