"""The clock a user reads the desk and the admin on: their own zone (StaffProfile.time_zone, set on "my settings"
or by a superuser in the user admin), else their team's, else the desk's. It is the reader's clock only: a
collector's worklist day stays their team's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit_app.models import AuditAction, AuditEvent
from collections_app.desk.services import worklist_build
from collections_app.models import StaffProfile, WorklistEntry
from collections_app.staff.services import staff_profile_set_time_zone
from tests import factories as f
from tests.collections_app.desk.conftest import make_account
from tests.collections_app.staff.test_deactivation import _change_form_data
from tests.queries import tables

pytestmark = pytest.mark.django_db

SETTINGS = reverse("staff:settings")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _reader_zone(client) -> str:
    return client.get(SETTINGS).context["reader_zone"]


@pytest.fixture
def chicago_team():
    _supervisor, team = f.make_supervisor("supervisor_chi", "Team Chicago")
    team.timezone = "America/Chicago"
    team.save()
    return team


# --- Whose clock ----------------------------------------------------------------------------------------------------


def test_without_a_zone_of_their_own_a_user_reads_on_their_teams_clock(client, chicago_team):
    collector = f.make_collector("collector_chi", chicago_team)
    client.force_login(collector)
    assert _reader_zone(client) == "America/Chicago"


def test_a_users_own_zone_comes_before_their_teams(client, chicago_team):
    collector = f.make_collector("collector_chi", chicago_team)
    StaffProfile.objects.create(user=collector, time_zone="Europe/London")
    client.force_login(collector)
    assert _reader_zone(client) == "Europe/London"


def test_without_a_team_or_a_zone_a_user_reads_on_the_desks_clock(client, compliance):
    client.force_login(compliance)
    assert _reader_zone(client) == settings.TIME_ZONE


def test_the_readers_zone_costs_no_query_of_its_own(client, chicago_team):
    collector = f.make_collector("collector_chi", chicago_team)
    StaffProfile.objects.create(user=collector, time_zone="Europe/London")
    client.force_login(collector)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(SETTINGS).context["reader_zone"] == "Europe/London"
    read = tables(queries)
    # The profile and the team come with the user's own row (one query, joined); nothing reads them again.
    assert "collections_app_staffprofile" not in read and "collections_app_teammember" not in read, read
    assert read.count("auth_user") == 1, read


def test_admin_times_are_on_the_users_own_clock_with_the_offset(client, compliance):
    StaffProfile.objects.create(user=compliance, time_zone="America/New_York")
    borrower = f.BorrowerFactory()
    with time_machine.travel(dt.datetime(2026, 12, 2, 23, 58, tzinfo=SHANGHAI), tick=False):
        f.RestrictionFactory(borrower=borrower, kind="dispute",
                             starts_at=dt.datetime(2026, 12, 2, 15, 58, tzinfo=dt.UTC))
    client.force_login(compliance)
    body = client.get(reverse("admin:consent_app_restriction_changelist")).content.decode()
    assert "2026-12-02 10:58 (UTC\u221205:00)" in body  # 15:58 UTC on New York's clock, not Shanghai's


# --- Setting one's own zone -----------------------------------------------------------------------------------------


def test_a_user_sets_their_own_zone_and_the_change_is_audited(client, collector):
    client.force_login(collector)
    response = client.post(SETTINGS, {"time_zone": "Europe/London"})
    assert response.status_code == 302 and response["Location"] == SETTINGS
    assert StaffProfile.objects.get(user=collector).time_zone == "Europe/London"
    event = AuditEvent.objects.get(action=AuditAction.TIME_ZONE_CHANGED)
    assert (event.subject_type, event.subject_id, event.actor_id) == ("auth.user", str(collector.pk), collector.pk)
    assert event.data == {"from": "", "to": "Europe/London"}
    assert StaffProfile.objects.get(user=collector).history.first().history_change_reason == "time zone changed"
    assert _reader_zone(client) == "Europe/London"


def test_clearing_ones_zone_goes_back_to_the_teams(client, collector):
    StaffProfile.objects.create(user=collector, time_zone="Europe/London")
    client.force_login(collector)
    assert client.post(SETTINGS, {"time_zone": ""}).status_code == 302
    assert StaffProfile.objects.get(user=collector).time_zone == ""
    assert _reader_zone(client) == collector.team_membership.team.zone
    assert AuditEvent.objects.get(action=AuditAction.TIME_ZONE_CHANGED).data == {"from": "Europe/London", "to": ""}


@pytest.mark.parametrize("bad", ["Mars/Olympus", "EST5EDT", "UTC", "Etc/GMT+8"])
def test_a_zone_that_is_not_a_places_is_refused_and_nothing_changes(client, collector, bad):
    client.force_login(collector)
    response = client.post(SETTINGS, {"time_zone": bad})
    assert response.status_code == 422
    assert response.context["form"].errors["time_zone"]
    assert not StaffProfile.objects.filter(user=collector).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.TIME_ZONE_CHANGED).exists()


def test_a_legacy_name_is_stored_as_the_zone_it_stands_for(collector):
    profile = staff_profile_set_time_zone(user=collector, time_zone="US/Eastern", actor=collector)
    assert profile.time_zone == "America/New_York"
    with pytest.raises(ValidationError) as refused:
        staff_profile_set_time_zone(user=collector, time_zone="Mars/Olympus", actor=collector)
    assert "time_zone" in refused.value.message_dict


def test_saving_the_same_zone_again_writes_nothing(collector):
    staff_profile_set_time_zone(user=collector, time_zone="Europe/London", actor=collector)
    staff_profile_set_time_zone(user=collector, time_zone="Europe/London", actor=collector)
    assert AuditEvent.objects.filter(action=AuditAction.TIME_ZONE_CHANGED).count() == 1


def test_nobody_sets_someone_elses_zone_but_a_superuser(collector, other_collector, supervisor, compliance):
    for actor in (other_collector, supervisor, compliance):
        with pytest.raises(PermissionDenied):
            staff_profile_set_time_zone(user=collector, time_zone="Europe/London", actor=actor)
    assert not StaffProfile.objects.filter(user=collector).exists()
    root = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    staff_profile_set_time_zone(user=collector, time_zone="Europe/London", actor=root)
    assert StaffProfile.objects.get(user=collector).time_zone == "Europe/London"


def test_the_settings_page_needs_a_signed_in_user(client):
    response = client.get(SETTINGS)
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- The user admin -------------------------------------------------------------------------------------------------


def test_a_superuser_sets_a_users_zone_in_the_user_admin_through_the_service(client, collector):
    root = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    url = reverse("admin:auth_user_change", args=[collector.pk])
    response = client.post(url, _change_form_data(collector, **{"staff_profile-0-time_zone": "Asia/Tokyo"}))
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert StaffProfile.objects.get(user=collector).time_zone == "Asia/Tokyo"
    event = AuditEvent.objects.get(action=AuditAction.TIME_ZONE_CHANGED)
    assert event.actor_id == root.pk and event.data == {"from": "", "to": "Asia/Tokyo"}


def test_the_user_admin_refuses_a_zone_that_is_not_a_places(client, collector):
    root = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    url = reverse("admin:auth_user_change", args=[collector.pk])
    response = client.post(url, _change_form_data(collector, **{"staff_profile-0-time_zone": "EST5EDT"}))
    assert response.status_code == 200 and response.context["errors"]
    assert not StaffProfile.objects.filter(user=collector).exists()


def test_a_compliance_officer_does_not_reach_the_user_admin(client, compliance, collector):
    client.force_login(compliance)
    assert client.get(reverse("admin:auth_user_change", args=[collector.pk])).status_code == 403


# --- The reader's clock is not the working day -------------------------------------------------------------------


def test_a_collector_reading_on_another_clock_still_works_the_teams_day(client, collector):
    # 01:00 on 3 March in Shanghai (the team's zone) is still 2 March, 09:00 in Los Angeles (the collector's own).
    early = dt.datetime(2027, 3, 3, 1, 0, tzinfo=SHANGHAI)
    with time_machine.travel(early - dt.timedelta(days=1), tick=False):
        loan = make_account(collector)
    StaffProfile.objects.create(user=collector, time_zone="America/Los_Angeles")
    with time_machine.travel(early, tick=False):
        worklist_build(collector=collector)
        assert set(WorklistEntry.objects.values_list("work_date", flat=True)) == {dt.date(2027, 3, 3)}
        client.force_login(collector)
        response = client.get(reverse("worklist"))
    listed = [e.loan for e in response.context["blocked"]] + [e.loan for e in response.context["contactable"]]
    assert listed == [loan]  # the list of the team's 3 March, not an empty 2 March
    assert ">09:00</time>" in response.content.decode()  # "as of" on the collector's own clock
