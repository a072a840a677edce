"""A borrower's zone is the IANA zone of a place. Legacy names are accepted and stored as the zone they stand for
(`US/Eastern` as `America/New_York`); UTC, Etc/*, GMT, POSIX rules, Factory and localtime are refused, in the
service (API, admin) and the importer alike. Rows stored before are rewritten by migration 0003 when legacy, and
the others that are not places are listed in the borrowers' admin under "Zone needs review"."""

from __future__ import annotations

import datetime as dt
import importlib
from zoneinfo import ZoneInfo, available_timezones

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from consent_app.models import Borrower
from consent_app.services import borrower_upsert
from consent_app.validators import LEGACY_ZONES, canonical_timezone, place_zones, validate_timezone
from tests import factories as f

migration = importlib.import_module("consent_app.migrations.0003_borrower_zones_canonical")

NOT_PLACES = ["UTC", "Etc/UTC", "Etc/GMT+8", "Etc/GMT-14", "GMT", "GMT0", "Universal", "Zulu", "UCT", "Greenwich",
              "Factory", "localtime", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "EST", "MST", "HST", "CET", "WET"]


# --- The rule ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Europe/London", "America/Indiana/Knox",
                                  "Europe/Oslo", "Pacific/Kanton", "Antarctica/Troll", ""])
def test_a_places_zone_is_stored_as_it_is(zone):
    assert canonical_timezone(zone) == zone


@pytest.mark.parametrize(("legacy", "zone"), [
    ("US/Eastern", "America/New_York"), ("US/Pacific", "America/Los_Angeles"), ("PRC", "Asia/Shanghai"),
    ("GB", "Europe/London"), ("Asia/Calcutta", "Asia/Kolkata"), ("Asia/Chongqing", "Asia/Shanghai"),
    ("Europe/Kiev", "Europe/Kyiv"), ("Australia/ACT", "Australia/Sydney"), ("Canada/Eastern", "America/Toronto"),
])
def test_a_legacy_name_is_stored_as_its_zone(legacy, zone):
    assert canonical_timezone(legacy) == zone
    validate_timezone(legacy)


@pytest.mark.parametrize("zone", NOT_PLACES)
def test_a_zone_that_is_not_a_place_is_refused_without_repeating_it(zone):
    with pytest.raises(ValidationError) as exc:
        canonical_timezone(zone)
    assert exc.value.code == "not_a_place"
    assert zone not in " ".join(exc.value.messages)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "asia/shanghai", "Asia/Shanghai ", "../etc/passwd"])
def test_an_unknown_zone_is_refused(zone):
    with pytest.raises(ValidationError) as exc:
        canonical_timezone(zone)
    assert exc.value.code == "unknown_zone"


def test_every_legacy_name_stands_for_a_place_zone_with_the_same_clock():
    zones = available_timezones()
    instants = [dt.datetime(year, month, 15, 12, tzinfo=dt.UTC) for year in (1975, 1995, 2026) for month in (1, 7)]
    for legacy, zone in LEGACY_ZONES.items():
        assert zone in place_zones(), legacy
        assert legacy not in place_zones()
        if legacy in zones:
            for at in instants:
                assert at.astimezone(ZoneInfo(legacy)).utcoffset() == at.astimezone(ZoneInfo(zone)).utcoffset(), legacy


def test_the_model_field_refuses_a_zone_that_is_not_a_place(db):
    borrower = f.BorrowerFactory.build(timezone="Etc/UTC")
    with pytest.raises(ValidationError) as exc:
        borrower.full_clean(exclude=["borrower_ref"])
    assert list(exc.value.message_dict) == ["timezone"]


# --- Writers ----------------------------------------------------------------------------------------------------


def test_the_service_stores_a_legacy_name_as_its_zone(db, compliance):
    borrower, _created = borrower_upsert(borrower_ref="B-Z-1", full_name="Li Na", jurisdiction="US",
                                         timezone_name="US/Eastern", actor=compliance)
    assert Borrower.objects.get(pk=borrower.pk).timezone == "America/New_York"
    # Sending the legacy name again changes nothing: it is the same zone.
    history = borrower.history.count()
    borrower_upsert(borrower_ref="B-Z-1", full_name="Li Na", jurisdiction="US", timezone_name="US/Eastern",
                    actor=compliance)
    assert borrower.history.count() == history


@pytest.mark.parametrize("zone", ["UTC", "EST5EDT"])
def test_the_service_refuses_a_zone_that_is_not_a_place(db, compliance, zone):
    with pytest.raises(ValidationError) as exc:
        borrower_upsert(borrower_ref="B-Z-1", full_name="Li Na", jurisdiction="US", timezone_name=zone,
                        actor=compliance)
    assert list(exc.value.message_dict) == ["timezone"]
    assert not Borrower.objects.exists()


def _admin_post(client, borrower, zone):
    url = reverse("admin:consent_app_borrower_change", args=[borrower.pk])
    data = {"full_name": "Li Na", "national_id": "", "jurisdiction": "US", "timezone": zone}
    for inline in client.get(url).context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return client.post(url, data)


def test_the_admin_stores_a_legacy_name_as_its_zone_and_refuses_utc(client, compliance):
    borrower = f.BorrowerFactory(jurisdiction="US", timezone="America/Chicago")
    client.force_login(compliance)
    assert _admin_post(client, borrower, "US/Eastern").status_code == 302
    borrower.refresh_from_db()
    assert borrower.timezone == "America/New_York"
    response = _admin_post(client, borrower, "UTC")
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    borrower.refresh_from_db()
    assert borrower.timezone == "America/New_York"


@pytest.mark.parametrize(("language", "chicago", "shanghai"), [
    ("zh-hans", "美国（芝加哥）时间", "上海"), ("en", "United States (Chicago) Time", "Shanghai")])
def test_the_admin_names_zones_by_their_place_and_stores_the_key(client, compliance, language, chicago, shanghai):
    borrower = f.BorrowerFactory(jurisdiction="US", timezone="Asia/Shanghai")
    client.force_login(compliance)
    client.cookies["django_language"] = language
    url = reverse("admin:consent_app_borrower_change", args=[borrower.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<option value="America/Chicago">{chicago}</option>' in page
    assert 'value="Asia/Shanghai" selected' in page
    assert f"<td class=\"field-zone_in_words\">{shanghai}</td>" in client.get(
        reverse("admin:consent_app_borrower_changelist"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert _admin_post(client, borrower, "America/Chicago").status_code == 302
    borrower.refresh_from_db()
    assert borrower.timezone == "America/Chicago"


# --- Rows stored before -----------------------------------------------------------------------------------------


@pytest.fixture
def stored(db):
    """Borrowers as earlier versions stored them (the factory writes without the validators)."""
    zones = ["US/Eastern", "PRC", "Asia/Calcutta", "UTC", "Etc/GMT+8", "EST5EDT", "Mars/Base", "Asia/Shanghai", ""]
    return {zone: f.BorrowerFactory(timezone=zone) for zone in zones}


def test_the_migration_rewrites_legacy_names_and_leaves_the_rest(stored):
    migration.rewrite_legacy_zones(apps, None)
    after = {zone: Borrower.objects.get(pk=b.pk).timezone for zone, b in stored.items()}
    assert after == {
        "US/Eastern": "America/New_York", "PRC": "Asia/Shanghai", "Asia/Calcutta": "Asia/Kolkata",
        "UTC": "UTC", "Etc/GMT+8": "Etc/GMT+8", "EST5EDT": "EST5EDT", "Mars/Base": "Mars/Base",
        "Asia/Shanghai": "Asia/Shanghai", "": "",
    }


def test_compliance_lists_the_zones_that_need_review(client, compliance, stored):
    client.force_login(compliance)
    url = reverse("admin:consent_app_borrower_changelist")
    page = client.get(url)
    assert "Zone needs review" in page.content.decode()
    listed = client.get(url, {"zone": "review"}).context["cl"].result_list
    assert {b.timezone for b in listed} == {"US/Eastern", "PRC", "Asia/Calcutta", "UTC", "Etc/GMT+8", "EST5EDT",
                                            "Mars/Base"}
    migration.rewrite_legacy_zones(apps, None)
    listed = client.get(url, {"zone": "review"}).context["cl"].result_list
    assert {b.timezone for b in listed} == {"UTC", "Etc/GMT+8", "EST5EDT", "Mars/Base"}
