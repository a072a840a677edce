"""The compliance officers' admin of message templates, versions and forbidden phrases: the pages, the buttons
(submit, approve, reject with a comment), a published version read-only, who may open them, and the lists' queries."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext

from audit_app.models import AuditAction, AuditEvent
from collections_app.messaging.services import template_version_create, template_version_submit
from collections_app.models import ForbiddenPhrase, MessageTemplate, MessageTemplateVersion, TemplateVersionState
from tests.queries import tables

from .conftest import CN_SMS, make_template, publish

pytestmark = pytest.mark.django_db

CHANGELISTS = ("messagetemplate", "messagetemplateversion", "forbiddenphrase")


# The versions inline's management form (it lists, never adds).
INLINE = {"versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"}


def _url(name, *args):
    return reverse(f"admin:collections_app_{name}", args=args)


@pytest.fixture
def published(compliance, second_compliance):
    return publish(make_template(compliance), CN_SMS, author=compliance, approver=second_compliance)


def test_compliance_opens_every_page(client, compliance, published):
    client.force_login(compliance)
    for name in CHANGELISTS:
        assert client.get(_url(f"{name}_changelist")).status_code == 200, name
        assert client.get(_url(f"{name}_add")).status_code == 200, name
    template_page = client.get(_url("messagetemplate_change", published.template_id))
    assert template_page.status_code == 200
    assert "v1" in template_page.content.decode() or ">1<" in template_page.content.decode()  # the versions inline
    assert client.get(_url("messagetemplateversion_change", published.pk)).status_code == 200
    assert client.get(_url("messagetemplateversion_history", published.pk)).status_code == 200
    phrase = ForbiddenPhrase.objects.order_by("pk").first()
    assert client.get(_url("forbiddenphrase_change", phrase.pk)).status_code == 200


def test_collectors_and_supervisors_cannot_open_or_change_templates(client, collector, supervisor, published):
    before = (MessageTemplate.objects.count(), MessageTemplateVersion.objects.count(), AuditEvent.objects.count())
    client.force_login(collector)  # not staff: the admin sends them to its sign-in page
    for name in CHANGELISTS:
        response = client.get(_url(f"{name}_changelist"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.force_login(supervisor)
    for name in CHANGELISTS:
        assert client.get(_url(f"{name}_changelist")).status_code == 403, name
        assert client.get(_url(f"{name}_add")).status_code == 403, name
    response = client.post(_url("messagetemplate_add"), {"code": "sup-made", "channel": "sms", "jurisdiction": "CN",
                                                         "language": "zh-hans", "valid_for_hours": 24})
    assert response.status_code == 403
    assert client.get(_url("messagetemplateversion_change", published.pk)).status_code in (302, 403, 404)
    assert client.post(_url("messagetemplateversion_reject", published.pk), {"comment": "x"}).status_code in (403, 404)
    assert (MessageTemplate.objects.count(), MessageTemplateVersion.objects.count(),
            AuditEvent.objects.count()) == before


def test_a_template_and_a_draft_are_written_in_admin_with_their_findings(client, compliance):
    client.force_login(compliance)
    response = client.post(_url("messagetemplate_add"), {
        "code": "cn-day3", "channel": "sms", "jurisdiction": "CN", "language": "zh-hans", "valid_for_hours": 48,
        **INLINE})
    assert response.status_code == 302
    template = MessageTemplate.objects.get(code="cn-day3")
    response = client.post(_url("messagetemplateversion_add"), {"template": template.pk,
                                                                "body": "您好，请于{due_date}前还款，否则后果自负。"})
    assert response.status_code == 302
    draft = MessageTemplateVersion.objects.get(template=template)
    assert draft.state == TemplateVersionState.DRAFT and draft.author == compliance
    assert set(draft.lint_codes) == {"CN_INSTITUTION_NOT_IDENTIFIED", "CN_THREAT"}
    [warning] = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert "后果自负" in warning  # the phrase that broke the rule, named
    page = client.get(_url("messagetemplateversion_change", draft.pk)).content.decode()
    assert 'data-code="CN_THREAT"' in page
    # Submitting a draft that breaks rules is refused, and said so.
    response = client.post(_url("messagetemplateversion_submit", draft.pk))
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.state == TemplateVersionState.DRAFT
    assert any(m.level_tag == "error" for m in get_messages(response.wsgi_request))
    # Fixed, it goes.
    client.post(_url("messagetemplateversion_change", draft.pk), {"body": CN_SMS})
    draft.refresh_from_db()
    assert draft.body == CN_SMS and draft.lint_codes == []
    client.post(_url("messagetemplateversion_submit", draft.pk))
    draft.refresh_from_db()
    assert draft.state == TemplateVersionState.PENDING_APPROVAL
    assert AuditEvent.objects.filter(action=AuditAction.TEMPLATE_VERSION_SUBMITTED, subject_id=str(draft.pk)).exists()


def test_the_buttons_approve_for_a_second_officer_only(client, compliance, second_compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    client.force_login(compliance)
    page = client.get(_url("messagetemplateversion_change", version.pk)).content.decode()
    assert _url("messagetemplateversion_approve", version.pk) not in page  # the author is offered no decision
    client.post(_url("messagetemplateversion_approve", version.pk))
    version.refresh_from_db()
    assert version.state == TemplateVersionState.PENDING_APPROVAL
    client.force_login(second_compliance)
    page = client.get(_url("messagetemplateversion_change", version.pk)).content.decode()
    assert _url("messagetemplateversion_approve", version.pk) in page
    response = client.post(_url("messagetemplateversion_approve", version.pk))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.state == TemplateVersionState.APPROVED and version.approver == second_compliance


def test_a_version_is_rejected_with_a_comment(client, compliance, second_compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    client.force_login(second_compliance)
    assert client.get(_url("messagetemplateversion_reject", version.pk)).status_code == 200
    assert client.post(_url("messagetemplateversion_reject", version.pk), {"comment": ""}).status_code == 422
    response = client.post(_url("messagetemplateversion_reject", version.pk), {"comment": "Say who we are first"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.state == TemplateVersionState.REJECTED and version.decision_comment == "Say who we are first"


def test_a_published_version_is_shown_read_only_and_a_change_post_is_refused(client, compliance, published):
    client.force_login(compliance)
    page = client.get(_url("messagetemplateversion_change", published.pk)).content.decode()
    assert 'name="body"' not in page  # no text box: read-only
    response = client.post(_url("messagetemplateversion_change", published.pk), {"body": "【{institution}】改了。"})
    assert response.status_code == 403
    published.refresh_from_db()
    assert published.body == CN_SMS


def test_the_list_action_approves_a_selection(client, compliance, second_compliance):
    template = make_template(compliance)
    versions = [template_version_create(template=template, body=CN_SMS, actor=compliance) for _ in range(2)]
    for version in versions:
        template_version_submit(version=version, actor=compliance)
    client.force_login(second_compliance)
    client.post(_url("messagetemplateversion_changelist"), {
        "action": "approve_selected", "_selected_action": [v.pk for v in versions], "index": "0"})
    assert set(MessageTemplateVersion.objects.values_list("state", flat=True)) == {"approved"}


def test_compliance_adds_a_forbidden_phrase_that_then_blocks_a_draft(client, compliance):
    client.force_login(compliance)
    response = client.post(_url("forbiddenphrase_add"), {"jurisdiction": "UK", "phrase": "Pay NOW",
                                                         "rule_code": "UK_PRESSURE", "note": "firm list"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.FORBIDDEN_PHRASE_SAVED).count() == 1
    refused = client.post(_url("forbiddenphrase_add"), {"jurisdiction": "CN", "phrase": "pay up",
                                                        "rule_code": "UK_PRESSURE", "note": ""})
    assert refused.status_code == 200 and not ForbiddenPhrase.objects.filter(phrase="pay up").exists()
    template = make_template(compliance, code="uk", jurisdiction="UK", language="en")
    draft = template_version_create(template=template, body="{institution}: please pay-now.", actor=compliance)
    assert draft.lint_codes == ["UK_PRESSURE"]


def test_the_template_list_shows_the_published_version_and_the_newest_versions_state(
        client, compliance, second_compliance):
    template = make_template(compliance)
    publish(template, CN_SMS, author=compliance, approver=second_compliance)
    publish(template, CN_SMS, author=compliance, approver=second_compliance)
    template_version_create(template=template, body=CN_SMS, actor=compliance)  # v3, a draft
    make_template(compliance, code="cn-unwritten")
    client.force_login(compliance)
    response = client.get(_url("messagetemplate_changelist"))
    cl = response.context["cl"]
    rows = {t.code: (cl.model_admin.published_label(t), cl.model_admin.latest_label(t)) for t in cl.result_list}
    none = str(gettext("none"))
    assert rows == {"cn-reminder": ("2", str(TemplateVersionState.DRAFT.label)), "cn-unwritten": (none, none)}


@pytest.mark.parametrize("name", CHANGELISTS)
def test_each_list_takes_the_same_queries_for_one_row_and_for_many(client, compliance, second_compliance, name):
    counts, shown = [], []
    client.force_login(compliance)
    for n in (1, 12):
        for i in range(n):
            template = make_template(compliance, code=f"t{n}-{i}")
            publish(template, CN_SMS, author=compliance, approver=second_compliance)
            ForbiddenPhrase.objects.create(jurisdiction="CN", phrase=f"phrase {n} {i}", rule_code="FIRM_POLICY")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(_url(f"{name}_changelist"))
        assert response.status_code == 200
        counts.append(tables(queries))
        cl = response.context["cl"]
        shown.append((len(cl.result_list), min(cl.model.objects.count(), cl.list_per_page)))
    # Each page lists every row there is, up to a page: one template or version, then thirteen; the phrases fill
    # a page from the default list in both, so a query per row would show among their queries too.
    assert [listed for listed, _ in shown] == [there for _, there in shown], shown
    # The session, the user, the second factor, the user's and the groups' permissions, the role groups (the
    # scope), then the page's count and its rows: templates with their published and newest versions as
    # subqueries, versions with template, author and approver joined, phrases alone.
    table = f"collections_app_{name}"
    assert counts[0] == counts[1] == ["collections_app_usersession", "auth_user", "otp_totp_totpdevice",
                                      "auth_permission", "auth_permission", "auth_group", table, table], counts
