"""Complaints in admin: intake and moves through the services, scoping, the PII access log."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.models import Complaint

from .helpers import open_complaint

pytestmark = pytest.mark.django_db


def test_compliance_records_a_complaint_in_admin_through_the_service(client, clock, cn_loan, collector, compliance):
    client.force_login(compliance)
    response = client.post(reverse("admin:collections_app_complaint_add"), {
        "borrower": cn_loan.borrower.pk, "loan": cn_loan.pk, "channel": "email", "category": "privacy",
        "description": "My data was shared.", "received_at_0": "", "received_at_1": "",
        "collectors": [collector.pk], "attempts": "",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    complaint = Complaint.objects.get()
    assert complaint.source == "admin" and complaint.queue == "compliance"
    assert list(complaint.collectors.all()) == [collector]
    assert complaint.hold_restriction_id is not None
    assert AuditEvent.objects.filter(action=AuditAction.COMPLAINT_OPENED, actor=compliance).count() == 1


def test_compliance_moves_a_complaint_in_admin_and_refused_moves_show_errors(client, clock, cn_loan, compliance):
    complaint = open_complaint(cn_loan, None)
    client.force_login(compliance)
    url = reverse("admin:collections_app_complaint_change", args=[complaint.pk])
    page = client.get(url)
    assert page.status_code == 200 and "move_to" in page.content.decode()
    assert client.post(url, {"move_to": "acknowledged"}).status_code == 302
    assert Complaint.objects.get(pk=complaint.pk).state == "acknowledged"
    response = client.post(url, {"move_to": "resolved"})  # not offered from "acknowledged"
    assert response.status_code == 200 and response.context["adminform"].form.errors
    client.post(url, {"move_to": "investigating"})
    response = client.post(url, {"move_to": "resolved", "resolution_outcome": "upheld"})
    errors = response.context["adminform"].form.errors
    assert {"resolution_root_cause", "resolution_remediation"} <= set(errors)
    assert Complaint.objects.get(pk=complaint.pk).state == "investigating"


def test_opening_a_complaint_in_admin_is_logged_as_a_personal_data_read(client, clock, cn_loan, compliance):
    complaint = open_complaint(cn_loan, None)
    client.force_login(compliance)
    client.get(reverse("admin:collections_app_complaint_change", args=[complaint.pk]))
    event = AuditEvent.objects.get(action=AuditAction.PII_REVEALED)
    assert (event.subject_type, event.subject_id, event.actor_id) == (
        "collections_app.complaint", str(complaint.pk), compliance.pk)


def test_a_supervisor_sees_their_teams_complaints_in_admin_and_reads_the_ones_not_theirs(
    client, clock, cn_loan, other_loan, supervisor
):
    mine = open_complaint(cn_loan, None)
    compliance_queue = open_complaint(cn_loan, None, category="privacy")
    theirs = open_complaint(other_loan, None)
    client.force_login(supervisor)
    html = client.get(reverse("admin:collections_app_complaint_changelist")).content.decode()
    assert mine.reference in html and compliance_queue.reference in html and theirs.reference not in html
    assert "move_to" in client.get(reverse("admin:collections_app_complaint_change", args=[mine.pk])).content.decode()
    read_only = client.get(reverse("admin:collections_app_complaint_change", args=[compliance_queue.pk]))
    assert read_only.status_code == 200 and "move_to" not in read_only.content.decode()
    other = client.get(reverse("admin:collections_app_complaint_change", args=[theirs.pk]))
    assert (other.status_code, other["Location"]) == (302, reverse("admin:index"))  # as if it did not exist
    assert [str(m) for m in get_messages(other.wsgi_request)] == [
        f"complaint with ID “{theirs.pk}” doesn’t exist. Perhaps it was deleted?"]
    assert client.get(reverse("admin:collections_app_complaint_add")).status_code == 403
