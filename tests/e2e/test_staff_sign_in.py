"""A supervisor's first and second sign-in in a real browser: the password, then enrolment of an authenticator app
(its code computed here from the key the page shows), the recovery codes, and at the next sign-in the code."""

import datetime as dt
import re
from base64 import b32decode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_otp.oath import TOTP

from tests import factories as f
from tests.e2e.helpers import submit_password

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MORNING = dt.datetime(2027, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _code(secret_key: str) -> str:
    """What an authenticator app shows for the key, now."""
    key = secret_key.replace(" ", "")
    return f"{TOTP(b32decode(key + '=' * (-len(key) % 8))).token():06d}"


def test_a_supervisor_enrols_an_authenticator_then_signs_in_with_its_code(page, live_server, reference_data):
    f.make_supervisor("supervisor_otp", "Team OTP")

    with time_machine.travel(MORNING, tick=True):
        submit_password(page, live_server, "supervisor_otp")
        page.wait_for_url(re.compile(r".*/accounts/second-factor/enrol/.*"))
        assert page.get_attribute("p.qr img", "src").startswith("data:image/svg+xml")
        secret_key = page.inner_text("[data-secret-key]")
        page.fill("input[name=code]", _code(secret_key))
        page.click("button[type=submit].primary")
        page.wait_for_selector("[data-recovery-codes]")
        assert page.locator("[data-recovery-codes] li").count() == 10
        page.click("a[data-continue]")
        page.wait_for_url(f"{live_server.url}/team/")
        page.click("header form button[type=submit]:not([name])")  # sign out
        page.wait_for_url(re.compile(r".*/accounts/login/.*"))

    # The next sign-in, a few minutes later (a code is accepted once, so not within the same 30 seconds).
    with time_machine.travel(MORNING + dt.timedelta(minutes=5), tick=True):
        submit_password(page, live_server, "supervisor_otp")
        page.wait_for_url(re.compile(r".*/accounts/second-factor/\?next=.*"))
        page.goto(f"{live_server.url}/admin/")
        page.wait_for_url(re.compile(r".*/accounts/second-factor/\?next=%2Fadmin%2F"))
        page.fill("input[name=code]", _code(secret_key))
        page.click("button[type=submit].primary")
        page.wait_for_url(f"{live_server.url}/admin/")
