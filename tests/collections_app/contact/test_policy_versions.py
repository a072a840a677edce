"""Policy versions through the per-process cache keyed by the policy generation (collections_app/contact/versions.py):
a new version is used by the very next check in the same process, whoever published it; a check at an instant
before a version took effect follows the previous one; a copy is loaded once per generation, whatever the threads."""

import datetime as dt
import json
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from collections_app.api.auth import api_token_create
from collections_app.contact import versions
from collections_app.contact.services import contact_check, policy_version_create, policy_version_data
from collections_app.models import ContactPolicy, ContactPolicyVersion, PolicyGeneration
from tests import factories as f
from tests.queries import tables

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 3 March 2027, 10:00 in Shanghai: inside the CN preset's window (08:00-22:00).
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)
NUMBER = "+8613800138000"
# A version whose window has closed by 10:00: a check it applies to is refused for the hour.
CLOSED_AT_TEN = [["08:00", "09:00"]] * 7


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cn_loan(clock, collector):
    borrower = f.BorrowerFactory(borrower_ref="B-CN", jurisdiction="CN", timezone="Asia/Shanghai")
    loan = f.LoanFactory(loan_ref="L-CN", borrower=borrower, assigned_collector=collector,
                         due_date=dt.date(2027, 1, 15))
    phone = f.PhoneNumberFactory(borrower=borrower, e164=NUMBER)
    f.ConsentFactory(phone=phone, granted_at=MORNING - dt.timedelta(days=60))
    return loan


@pytest.fixture
def api(client, integration_user):
    _row, token = api_token_create(user=integration_user)
    client.defaults.update(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def _api_check(api, **overrides):
    response = api.post("/api/v1/contact-checks", {"loan_ref": "L-CN", "phone": NUMBER, "channel": "call",
                                                   **overrides}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _service_check(loan, at=None):
    loan = type(loan).objects.select_related("borrower").get(pk=loan.pk)
    phone = loan.borrower.phones.select_related("third_party").get()
    return contact_check(loan=loan, phone=phone, channel="call", at=at)


def _publish(actor, *, effective_from=None, **changes):
    cn = ContactPolicy.objects.get(code="CN")
    data = policy_version_data(cn.versions.order_by("-version").first()) | changes
    return policy_version_create(policy_obj=cn, data=data, actor=actor, change_note="Test change",
                                 effective_from=effective_from)


def _codes(body):
    return [r["code"] for r in body["reasons"]]


def test_a_version_published_by_the_service_is_used_by_the_very_next_check(api, cn_loan, compliance):
    assert _api_check(api)["policy"] == {"code": "CN", "version": 1}  # the process now holds version 1
    assert _service_check(cn_loan).policy_version == 1
    _publish(compliance, windows=CLOSED_AT_TEN)
    body = _api_check(api)
    assert body["policy"] == {"code": "CN", "version": 2}
    assert _codes(body) == ["OUTSIDE_CONTACT_HOURS"]
    assert _service_check(cn_loan).policy_version == 2


def test_a_version_published_in_the_admin_is_used_by_the_very_next_check(api, client, cn_loan, compliance):
    assert _api_check(api)["policy"]["version"] == 1
    cn = ContactPolicy.objects.get(code="CN")
    post = {"policy": cn.pk, "effective_from_0": "2027-03-01", "effective_from_1": "00:00:00",
            "change_note": "Calls end at nine"}
    for key, value in policy_version_data(cn.versions.get(version=1)).items():
        if key in ("windows", "channels_allowed", "sources"):
            post[key] = json.dumps(CLOSED_AT_TEN if key == "windows" else value)
        elif isinstance(value, bool):
            if value:
                post[key] = "on"
        elif value is not None:
            post[key] = value
    staff = f.make_compliance("officer")  # a browser session of its own, apart from the API client's token
    admin = type(client)()
    admin.force_login(staff)
    assert admin.post("/admin/collections_app/contactpolicyversion/add/", post).status_code == 302
    body = _api_check(api)
    assert body["policy"]["version"] == 2
    assert _codes(body) == ["OUTSIDE_CONTACT_HOURS"]


def test_a_check_at_an_instant_before_a_version_took_effect_follows_the_previous_one(api, cn_loan, compliance):
    _publish(compliance, windows=CLOSED_AT_TEN, effective_from=MORNING - dt.timedelta(hours=1))
    assert _api_check(api)["policy"]["version"] == 2
    earlier = _api_check(api, at=(MORNING - dt.timedelta(hours=2)).isoformat())
    assert earlier["policy"]["version"] == 1
    assert earlier["allowed"] is True  # 08:00 under version 1, whose window is open
    assert _service_check(cn_loan, at=MORNING - dt.timedelta(hours=2)).policy_version == 1


def test_a_version_that_takes_effect_later_is_not_used_before_then(api, cn_loan, compliance):
    _publish(compliance, windows=CLOSED_AT_TEN, effective_from=MORNING + dt.timedelta(days=1))
    assert _api_check(api)["policy"]["version"] == 1
    later = _api_check(api, at=(MORNING + dt.timedelta(days=1, minutes=1)).isoformat())
    assert later["policy"]["version"] == 2
    assert _codes(later) == ["OUTSIDE_CONTACT_HOURS"]


def test_versions_removed_from_the_database_stop_applying_at_once(api, cn_loan):
    assert _api_check(api)["allowed"] is True
    ContactPolicyVersion.objects.filter(policy__jurisdiction="CN").delete()
    response = api.post("/api/v1/contact-checks", {"loan_ref": "L-CN", "phone": NUMBER, "channel": "call"},
                        content_type="application/json")
    assert response.status_code == 409


def test_a_change_to_a_policy_itself_is_seen_by_the_next_check(api, cn_loan, compliance):
    assert _api_check(api)["policy"]["code"] == "CN"
    cn = ContactPolicy.objects.get(code="CN")
    cn.code = "CN-2027"
    cn.save()
    assert _api_check(api)["policy"] == {"code": "CN-2027", "version": 1}


def test_every_policy_change_bumps_the_generation_in_its_transaction(compliance):
    before = PolicyGeneration.objects.get()
    version = _publish(compliance, daily_attempt_cap=4)
    after = PolicyGeneration.objects.get()
    assert after.value > before.value and after.stamp != before.stamp
    # A rolled-back publication rolls back its bump with it.
    with pytest.raises(RuntimeError), transaction.atomic():
        _publish(compliance, daily_attempt_cap=3)
        raise RuntimeError
    assert PolicyGeneration.objects.get().stamp == after.stamp
    ContactPolicyVersion.objects.filter(pk=version.pk).delete()
    assert PolicyGeneration.objects.get().stamp != after.stamp


def test_a_rolled_back_version_is_never_used_even_when_the_count_comes_back_to_its_value(api, cn_loan, compliance):
    """The count of changes alone would repeat after a rollback; the stamp does not."""
    assert _api_check(api)["allowed"] is True
    with pytest.raises(RuntimeError), transaction.atomic():
        _publish(compliance, windows=CLOSED_AT_TEN)
        # Loaded inside the transaction that published it: this transaction's decisions see it.
        assert _codes(_api_check(api)) == ["OUTSIDE_CONTACT_HOURS"]
        rolled_back = PolicyGeneration.objects.get().value
        raise RuntimeError
    _publish(compliance, daily_attempt_cap=5)  # the count comes back to the rolled-back one's
    assert PolicyGeneration.objects.get().value == rolled_back
    body = _api_check(api)
    assert body["policy"]["version"] == 2
    assert body["allowed"] is True


def test_a_check_in_a_process_that_holds_the_generation_reads_no_version(api, cn_loan):
    _api_check(api)
    with CaptureQueriesContext(connection) as queries:
        _api_check(api)
        _service_check(cn_loan)
    assert "collections_app_contactpolicyversion" not in tables(queries)


def test_a_new_generation_is_loaded_once_then_held(api, cn_loan, compliance):
    _api_check(api)
    _publish(compliance, daily_attempt_cap=5)
    with CaptureQueriesContext(connection) as first:
        _api_check(api)
    with CaptureQueriesContext(connection) as second:
        _api_check(api)
    assert tables(first).count("collections_app_contactpolicyversion") == 1
    assert "collections_app_contactpolicyversion" not in tables(second)


def test_without_the_generation_row_nothing_is_held(api, cn_loan):
    PolicyGeneration.objects.all().delete()
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert _api_check(api)["allowed"] is True
        assert "collections_app_contactpolicyversion" in tables(queries)
    versions.policy_generation_bump()  # the next change creates the row again
    assert PolicyGeneration.objects.get().value == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_threads_that_find_the_copy_outdated_at_once_load_it_once():
    versions.policy_generation_bump()
    generation = versions.current_generation()
    threads = 8
    start = threading.Barrier(threads)
    got: list[versions.LoadedVersions] = []
    loads: list[int] = []
    lock = threading.Lock()

    def check() -> None:
        try:
            start.wait()
            with CaptureQueriesContext(connection) as queries:
                loaded = versions.versions_at(generation)
            with lock:
                got.append(loaded)
                loads.append(tables(queries).count("collections_app_contactpolicyversion"))
        finally:
            connection.close()

    workers = [threading.Thread(target=check) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(got) == threads
    assert sum(loads) == 1
    assert len({id(loaded) for loaded in got}) == 1
    assert got[0].generation == generation
    assert got[0].in_force("CN", MORNING).version == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers and readers need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_under_concurrent_publications_no_thread_decides_on_versions_older_than_the_generation_it_read(compliance):
    caps = [6, 5, 4, 3]  # version 1's daily attempt cap, then one publication per cap
    published = {versions.current_generation(): 0}
    observed: list[tuple] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                generation = versions.current_generation()
                loaded = versions.versions_at(generation)
                observed.append((generation, loaded.generation,
                                 loaded.in_force("CN", MORNING + dt.timedelta(days=1)).daily_attempt_cap))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=reader) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        for k, cap in enumerate(caps[1:], start=1):
            _publish(compliance, daily_attempt_cap=cap, effective_from=MORNING)
            published[versions.current_generation()] = k
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert not errors, errors
    assert observed
    for read, loaded, cap in observed:
        assert loaded == read
        assert caps.index(cap) >= published[read]  # the versions of that generation, or newer, never older
    final = versions.versions_at(versions.current_generation())
    assert final.in_force("CN", MORNING + dt.timedelta(days=1)).daily_attempt_cap == 3
