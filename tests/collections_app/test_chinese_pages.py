"""The desk's and the admin's pages in Chinese show what they store in words: no policy reason code, no
snake_case value, no channel, outcome, state, routing or zone code, no change reason or audit code in English.

A day's work is built through the services (a conversation with a callback, a call page's dial reveal, a
promise, a plan approved, a complaint naming the collector, a hold, a consent withdrawn, a London borrower out
of hours); every page is then read in zh-hans as the role that works it, and its text (what a reader sees and a
screen reader reads: text, placeholders, labels, options; not titles or data attributes) is searched for the
codes the desk stores."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, label_for_field
from django.urls import reverse
from django.utils import translation

from collections_app.complaints.services import complaint_open
from collections_app.contact.services import contact_start
from collections_app.desk.services import FollowUps, hold_until_place, outcome_record, worklist_build
from collections_app.models import ContactPolicy, RepaymentPlan
from collections_app.plans.services import plan_approve, plan_propose, promise_create
from consent_app.models import Consent
from consent_app.services import consent_withdraw
from tests import factories as f
from tests.collections_app.desk.conftest import make_account

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2027, 3, 3, 10, 0, tzinfo=SHANGHAI)  # CN window open; 02:00 in London

# What the desk stores and must never show bare in Chinese: snake_case and SCREAMING_SNAKE codes, the single-word
# codes of channels, outcomes, states, buckets and reveals, dotted audit codes, model paths, IANA zone keys, and
# the English change reasons the services write.
RAW_CODE = re.compile(
    r"(?<![A-Za-z0-9_./@-])(?:"
    r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
    r"|e164|dial|call|sms|conversation|debtor|proposed|granted|current|pending|active|phone"
    r"|[a-z_]+\.[a-z_]+|(?:collections|consent|audit)_app\.\w+|(?:America|Europe|Asia)/\w+"
    r"|demo seed|routed to|approved by|number added|in progress"
    r")(?![A-Za-z0-9_])"
)
# Who the personas are: user names are data, not codes.
NAMES = {"collector_a", "collector_b", "supervisor_a", "supervisor_b", "compliance_officer"}


class VisibleText(HTMLParser):
    """What a reader sees and a screen reader reads: text (not scripts or styles), and the placeholders,
    aria-labels and alt texts; not titles (a reason's legal source) or data attributes (a reason's code)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [value for key, value in attrs if key in ("placeholder", "aria-label", "alt") and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def raw_codes(body: str) -> list[str]:
    parser = VisibleText()
    parser.feed(body)
    text = " ".join(parser.parts)
    return sorted({code for code in RAW_CODE.findall(text) if code not in NAMES})


@pytest.fixture
def day(collector, supervisor, compliance, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with time_machine.travel(MORNING, tick=False) as clock:
        cn = make_account(collector)
        held = make_account(collector)
        london_borrower = f.BorrowerFactory(timezone="Europe/London", jurisdiction="UK")
        london = f.LoanFactory(assigned_collector=collector, borrower=london_borrower, currency="GBP",
                               due_date=MORNING.date() - dt.timedelta(days=40))
        f.ConsentFactory(phone=f.PhoneNumberFactory(borrower=london_borrower, e164="+442079460199", region="GB"),
                         granted_at=MORNING - dt.timedelta(days=90))
        phone = cn.borrower.phones.get()
        attempt, _decision = contact_start(loan=cn, phone=phone, channel="call", collector=collector)
        outcome_record(attempt=attempt, outcome="conversation", party="debtor", opt_out=False, actor=collector,
                       follow_ups=FollowUps(callback_at=MORNING + dt.timedelta(days=1, hours=1), promise_amount=None,
                                            promise_date=None, dispute=False, cease=False, hold_until=None,
                                            note="will pay on Friday"))
        promise_create(loan=cn, amount="500", promise_date=MORNING.date() + dt.timedelta(days=3), attempt=attempt,
                       actor=collector)
        plan = plan_propose(loan=cn, kind="installments", actor=collector, reason="salary cut", attempt=attempt,
                            schedule=[(MORNING.date() + dt.timedelta(days=30 * i), "750.00") for i in range(1, 9)])
        if plan.state == "pending_approval":
            plan_approve(plan=plan, actor=supervisor if plan.required_level == "supervisor" else compliance)
        complaint = complaint_open(borrower=cn.borrower, loan=cn, channel="phone", category="contact_frequency",
                                   description="Called too often.", actor=collector, collectors=[collector])
        hold_until_place(loan=held, until=MORNING.date() + dt.timedelta(days=5), reason="in hospital", actor=supervisor)
        consent_withdraw(consent=Consent.objects.get(phone__borrower=held.borrower), via="phone", actor=compliance)
        worklist_build(collector=collector)
        # The call page: a call in progress on another account, whose number the page reveals to dial it.
        calling = make_account(collector)
        open_call, _decision = contact_start(loan=calling, phone=calling.borrower.phones.get(), channel="call",
                                             collector=collector)
        clock.shift(dt.timedelta(minutes=1))
        yield {"policy": ContactPolicy.objects.get(code="CN"), "cn": cn, "held": held, "london": london,
               "plan": RepaymentPlan.objects.get(), "complaint": complaint,
               "open_call": open_call, "attempt": attempt}


def _codes_on(client, url: str) -> list[str]:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200, url
    return raw_codes(response.content.decode())


def test_the_collectors_pages_show_no_raw_code(client, collector, day):
    client.force_login(collector)
    pages = [
        reverse("worklist"),
        reverse("loan_detail", args=[day["cn"].loan_ref]),
        reverse("loan_detail", args=[day["held"].loan_ref]),
        reverse("loan_detail", args=[day["london"].loan_ref]),
        reverse("attempt_detail", args=[day["open_call"].pk]),
        reverse("plans:promise_create", args=[day["cn"].loan_ref]),
        reverse("plans:plan_propose", args=[day["cn"].loan_ref]),
        reverse("plans:plan_detail", args=[day["plan"].pk]),
        reverse("complaints:create", args=[day["cn"].loan_ref]),
    ]
    assert {url: _codes_on(client, url) for url in pages} == {url: [] for url in pages}


def test_the_supervisors_pages_show_no_raw_code(client, supervisor, collector, day):
    client.force_login(supervisor)
    pages = [
        reverse("team"),
        reverse("team_blocked", args=["TEMPORARY_HOLD"]),
        reverse("team_blocked", args=["OUTSIDE_CONTACT_HOURS"]),
        reverse("collector_attempts", args=[collector.username]),
        reverse("plans:approvals"),
        reverse("plans:plan_detail", args=[day["plan"].pk]),
        reverse("plans:reports"),
        reverse("complaints:list"),
        reverse("complaints:detail", args=[day["complaint"].pk]),
        reverse("loan_detail", args=[day["cn"].loan_ref]),
    ]
    assert {url: _codes_on(client, url) for url in pages} == {url: [] for url in pages}


def test_the_compliance_admin_pages_show_no_raw_code(client, compliance, day):
    client.force_login(compliance)
    plan, cn = day["plan"], day["cn"]
    pages = [
        reverse("admin:audit_app_auditevent_changelist"),
        reverse("admin:consent_app_consent_changelist"),
        reverse("admin:consent_app_borrower_change", args=[cn.borrower_id]),
        reverse("admin:consent_app_borrower_changelist"),
        reverse("admin:consent_app_phonenumber_changelist"),
        reverse("admin:consent_app_restriction_changelist"),
        reverse("admin:consent_app_thirdpartycontact_changelist"),
        reverse("admin:collections_app_loan_changelist"),
        reverse("admin:collections_app_loan_change", args=[cn.pk]),
        reverse("admin:collections_app_contactattempt_changelist"),
        reverse("admin:collections_app_contactattempt_change", args=[day["attempt"].pk]),
        reverse("admin:collections_app_repaymentplan_changelist"),
        reverse("admin:collections_app_repaymentplan_change", args=[plan.pk]),
        reverse("admin:collections_app_promise_changelist"),
        reverse("admin:collections_app_contactpolicy_changelist"),
        reverse("admin:collections_app_contactpolicy_change", args=[day["policy"].pk]),
        reverse("admin:collections_app_complaint_change", args=[day["complaint"].pk]),
        reverse("compliance:accounts"),
        reverse("admin:collections_app_loan_history", args=[cn.pk]),
        reverse("admin:collections_app_repaymentplan_history", args=[plan.pk]),
    ]
    # The admin's own pages carry the codes of their filters and columns in links (?action=…): only text counts.
    assert {url: _codes_on(client, url) for url in pages} == {url: [] for url in pages}


def test_the_call_picker_is_in_chinese_on_the_borrowers_and_the_readers_clock(client, collector, day):
    client.force_login(collector)
    body = client.get(reverse("plans:plan_propose", args=[day["cn"].loan_ref]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    option = re.search(rf'<option value="{day["attempt"].pk}"[^>]*>([^<]*)</option>', body.content.decode())
    assert option is not None
    # 10:00 in Shanghai, on the borrower's clock (the place and offset) and the reader's.
    assert option.group(1).startswith("上海 10:00 (UTC+08:00) · 10:00（您的时间）")


def test_a_reasons_channel_and_zone_are_named_in_chinese(client, collector, day):
    client.force_login(collector)
    body = client.get(reverse("loan_detail", args=[day["london"].loan_ref]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "伦敦 02:01 (UTC+00:00)" in body  # the policy's message names the place, not Europe/London
    assert 'data-code="OUTSIDE_CONTACT_HOURS"' in body  # the code kept for support, out of sight
    # The withdrawn consent's message names its channel in words: （渠道：电话）, not （渠道：call）.
    body = client.get(reverse("loan_detail", args=[day["held"].loan_ref]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "此号码的授权同意（渠道：电话）已被撤回。" in body


def test_the_check_finds_the_codes_it_is_for():
    page = ("<p>OUTSIDE_CONTACT_HOURS · named_collector · （渠道：call） · e164 · dial · pending_approval → active"
            " · America/Chicago · payment.recorded · demo seed</p><p title='NO_CONSENT'>无授权同意</p>")
    assert raw_codes(page) == sorted({"OUTSIDE_CONTACT_HOURS", "named_collector", "call", "e164", "dial",
                                      "pending_approval", "active", "America/Chicago", "payment.recorded",
                                      "demo seed"})
    assert raw_codes("<p>collector_a 无授权同意 1,200.00 CNY</p>") == []


# Words that stay as they are in Chinese: abbreviations the desk's users read as such.
LATIN_ALLOWED = re.compile(
    r"\b(?:API|SMS|ID|IANA|CSV|IP|HTTP|GET|POST|URL|TOTP|CFR|FCA|CONC|FDCPA|PIPL|E\.164)(?![\w.])")


def _title_of(model, list_filter) -> str:
    if isinstance(list_filter, str | tuple | list):
        path = list_filter if isinstance(list_filter, str) else list_filter[0]
        return str(get_fields_from_path(model, path)[-1].verbose_name)
    return str(list_filter.title)


@pytest.mark.parametrize("app_label", ["audit_app", "consent_app", "collections_app"])
def test_every_admin_column_filter_and_field_of_the_desk_is_labelled_in_chinese(app_label):
    """Column headers and filter titles come from callables' `description=`, filters' titles and fields' labels
    (collections_app.labels gives one to the fields declared without: "created at" would stay English)."""
    english = []
    with translation.override("zh-hans"):
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label != app_label:
                continue
            labels = [("column", name, str(label_for_field(name, model, model_admin)))
                      for name in model_admin.list_display if name != "action_checkbox"]
            labels += [("filter", str(item), _title_of(model, item)) for item in model_admin.list_filter]
            labels += [("field", field.name, str(field.verbose_name)) for field in model._meta.fields]
            labels += [("model", "", str(model._meta.verbose_name))]
            english += [(model._meta.label, *label) for label in labels
                        if re.search(r"[A-Za-z]", LATIN_ALLOWED.sub("", label[2]))]
    assert english == []
