"""The complaint queue, a compliance page: its times on the reader's own clock with their UTC offset."""

import pytest
from django.urls import reverse

from collections_app.models import StaffProfile

from .helpers import open_complaint

pytestmark = pytest.mark.django_db


def test_the_queue_shows_times_on_the_readers_clock_with_their_offset(client, compliance, collector, cn_loan, clock):
    complaint = open_complaint(cn_loan, collector)  # received 10:00 on 3 March in Shanghai
    StaffProfile.objects.create(user=compliance, time_zone="America/New_York")
    client.force_login(compliance)
    body = client.get(reverse("complaints:list"), {"view": "all"}).content.decode()
    assert complaint.reference in body
    assert "2027-03-02 21:00 (UTC\u221205:00)" in body
