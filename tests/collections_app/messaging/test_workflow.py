"""The approval workflow of template versions: a second compliance officer publishes, a published version never
changes, every state change is audited with ids and codes, and rendering checks the rules again."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit_app.models import AuditAction, AuditEvent
from collections_app.messaging.services import (
    forbidden_phrase_save,
    message_template_save,
    template_render,
    template_version_approve,
    template_version_create,
    template_version_reject,
    template_version_submit,
    template_version_update,
)
from collections_app.models import ForbiddenPhrase, MessageTemplateVersion, TemplateVersionState
from tests import factories as f

from .conftest import CN_SMS, US_SMS, make_template, publish

pytestmark = pytest.mark.django_db

VALUES = {"institution": "示例消费金融", "amount_due": "1,200.00 CNY", "due_date": "2027-03-01",
          "pay_link": "https://pay.example.test/x", "agent_phone": "400-000-0000"}


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_second_compliance_officer_publishes_a_version(compliance, second_compliance):
    template = make_template(compliance)
    version = template_version_create(template=template, body=CN_SMS, actor=compliance)
    assert (version.number, version.state) == (1, TemplateVersionState.DRAFT)
    template_version_submit(version=version, actor=compliance)
    template_version_approve(version=version, actor=second_compliance)
    version.refresh_from_db()
    assert version.state == TemplateVersionState.APPROVED and version.is_published
    assert version.approver == second_compliance and version.decided_at is not None
    assert template_version_create(template=template, body=CN_SMS, actor=compliance).number == 2


def test_the_author_cannot_approve_or_reject_their_own_version(compliance):
    template = make_template(compliance)
    version = template_version_create(template=template, body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    with pytest.raises(PermissionDenied):
        template_version_approve(version=version, actor=compliance)
    with pytest.raises(PermissionDenied):
        template_version_reject(version=version, comment="Not mine to decide", actor=compliance)
    version.refresh_from_db()
    assert version.state == TemplateVersionState.PENDING_APPROVAL and version.approver is None


def test_a_superuser_author_cannot_approve_their_own_version_either(compliance):
    root = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    template = make_template(root)
    version = template_version_create(template=template, body=CN_SMS, actor=root)
    template_version_submit(version=version, actor=root)
    with pytest.raises(PermissionDenied):
        template_version_approve(version=version, actor=root)
    template_version_approve(version=version, actor=compliance)


def test_a_draft_is_approved_only_after_it_was_submitted(compliance, second_compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    with pytest.raises(ValidationError):
        template_version_approve(version=version, actor=second_compliance)


def test_a_published_version_cannot_be_changed(compliance, second_compliance):
    version = publish(make_template(compliance), CN_SMS, author=compliance, approver=second_compliance)
    for actor in (compliance, second_compliance):
        with pytest.raises(ValidationError) as refused:
            template_version_update(version=version, body="【{institution}】新的措辞。", actor=actor)
        assert refused.value.error_dict["body"][0].code == "immutable"
    with pytest.raises(ValidationError):
        template_version_submit(version=version, actor=compliance)
    with pytest.raises(ValidationError):
        template_version_reject(version=version, comment="too late", actor=second_compliance)
    version.refresh_from_db()
    assert version.body == CN_SMS and version.state == TemplateVersionState.APPROVED


def test_a_submitted_version_is_no_longer_edited(compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    with pytest.raises(ValidationError):
        template_version_update(version=version, body="【{institution}】改。", actor=compliance)


def test_a_published_templates_meaning_cannot_change(compliance, second_compliance):
    template = make_template(compliance)
    publish(template, CN_SMS, author=compliance, approver=second_compliance)
    template.third_party_safe = True
    with pytest.raises(ValidationError) as refused:
        message_template_save(template=template, changed=["third_party_safe"], actor=compliance)
    assert "third_party_safe" in refused.value.error_dict
    template.third_party_safe = False
    template.valid_for_hours = 48
    message_template_save(template=template, changed=["valid_for_hours"], actor=compliance)


def test_a_rejection_says_why_and_keeps_the_comment_out_of_the_audit_trail(compliance, second_compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    with pytest.raises(ValidationError):
        template_version_reject(version=version, comment="  ", actor=second_compliance)
    template_version_reject(version=version, comment="Tone is too harsh for day 3", actor=second_compliance)
    version.refresh_from_db()
    assert version.state == TemplateVersionState.REJECTED
    assert version.decision_comment == "Tone is too harsh for day 3"
    [event] = _events(AuditAction.TEMPLATE_VERSION_REJECTED)
    assert "harsh" not in str(event.data)
    with pytest.raises(ValidationError):
        template_version_update(version=version, body=CN_SMS, actor=compliance)


def test_collectors_and_supervisors_cannot_write_templates(collector, supervisor, compliance):
    template = make_template(compliance)
    for actor in (collector, supervisor):
        with pytest.raises(PermissionDenied):
            make_template(actor, code=f"by-{actor.username}")
        with pytest.raises(PermissionDenied):
            template_version_create(template=template, body=CN_SMS, actor=actor)
    version = template_version_create(template=template, body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    with pytest.raises(PermissionDenied):
        template_version_approve(version=version, actor=supervisor)


def test_every_state_change_is_audited_with_ids_and_codes(compliance, second_compliance):
    template = make_template(compliance)
    version = template_version_create(template=template, body=CN_SMS, actor=compliance)
    template_version_update(version=version, body=CN_SMS + "谢谢。", actor=compliance)
    template_version_submit(version=version, actor=compliance)
    template_version_approve(version=version, actor=second_compliance)
    [saved_template] = _events(AuditAction.MESSAGE_TEMPLATE_SAVED)
    assert saved_template.subject_id == str(template.pk)
    created, updated = _events(AuditAction.TEMPLATE_VERSION_SAVED)
    [submitted] = _events(AuditAction.TEMPLATE_VERSION_SUBMITTED)
    [approved] = _events(AuditAction.TEMPLATE_VERSION_APPROVED)
    assert approved.actor_id == second_compliance.pk and submitted.actor_id == compliance.pk
    for event in (created, updated, submitted, approved):
        assert event.subject_id == str(version.pk)
        assert event.data["template_id"] == template.pk and event.data["number"] == 1
        assert "借款" not in str(event.data)  # the wording is on the version, not in the trail
    assert approved.data["state"] == "approved"
    history = list(MessageTemplateVersion.history.filter(id=version.pk).order_by("history_id")
                   .values_list("state", flat=True))
    assert history == ["draft", "draft", "pending_approval", "approved"]


def test_a_forbidden_phrase_is_audited_and_must_fit_its_rule(compliance):
    with pytest.raises(ValidationError):
        forbidden_phrase_save(phrase=ForbiddenPhrase(jurisdiction="CN", phrase="pay now", rule_code="UK_PRESSURE"),
                              changed=["phrase"], actor=compliance)
    with pytest.raises(ValidationError):
        forbidden_phrase_save(phrase=ForbiddenPhrase(jurisdiction="CN", phrase="！！", rule_code="CN_THREAT"),
                              changed=["phrase"], actor=compliance)
    phrase = forbidden_phrase_save(phrase=ForbiddenPhrase(jurisdiction="", phrase="guaranteed", note="firm",
                                                          rule_code="FIRM_POLICY"), changed=["phrase"],
                                   actor=compliance)
    [event] = _events(AuditAction.FORBIDDEN_PHRASE_SAVED)
    assert event.subject_id == str(phrase.pk) and event.data["rule"] == "FIRM_POLICY"


# --- Rendering -----------------------------------------------------------------------------------------------------


def test_rendering_fills_in_the_variables(compliance, second_compliance):
    version = publish(make_template(compliance), CN_SMS, author=compliance, approver=second_compliance)
    text = template_render(version=version, variables=VALUES)
    assert text.startswith("【示例消费金融】您的借款1,200.00 CNY元已于2027-03-01到期")


def test_rendering_refuses_a_version_not_published(compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    with pytest.raises(ValidationError) as refused:
        template_render(version=version, variables=VALUES)
    assert refused.value.code == "not_published"


def test_rendering_checks_the_rules_again_against_todays_phrases(compliance, second_compliance):
    version = publish(make_template(compliance), CN_SMS, author=compliance, approver=second_compliance)
    forbidden_phrase_save(phrase=ForbiddenPhrase(jurisdiction="CN", phrase="到期", rule_code="FIRM_POLICY"),
                          changed=["phrase"], actor=compliance)
    with pytest.raises(ValidationError) as refused:
        template_render(version=version, variables=VALUES)
    assert [e.code for e in refused.value.error_dict["body"]] == ["FIRM_POLICY"]


def test_rendering_checks_the_filled_in_values(compliance, second_compliance):
    version = publish(make_template(compliance), CN_SMS, author=compliance, approver=second_compliance)
    with pytest.raises(ValidationError) as refused:
        template_render(version=version, variables={**VALUES, "institution": "某某法院执行局"})
    assert [e.code for e in refused.value.error_dict["body"]] == ["CN_IMPERSONATION"]


def test_rendering_refuses_missing_and_unknown_variables(compliance, second_compliance):
    version = publish(make_template(compliance), CN_SMS, author=compliance, approver=second_compliance)
    missing = {k: v for k, v in VALUES.items() if k != "pay_link"}
    with pytest.raises(ValidationError) as refused:
        template_render(version=version, variables=missing)
    assert [e.code for e in refused.value.error_dict["body"]] == ["MISSING_VARIABLE"]
    with pytest.raises(ValidationError) as refused:
        template_render(version=version, variables={**VALUES, "borrower_name": "x"})
    assert [e.code for e in refused.value.error_dict["body"]] == ["UNKNOWN_VARIABLE"]


def test_a_us_sms_renders_with_its_statement_and_opt_out(compliance, second_compliance):
    template = make_template(compliance, code="us-sms", jurisdiction="US", language="en")
    version = publish(template, US_SMS, author=compliance, approver=second_compliance)
    text = template_render(version=version, variables={**VALUES, "institution": "Example Lending"})
    assert "this is a debt collector" in text and text.endswith("Reply STOP to opt out.")


def test_approval_checks_the_rules_again(compliance, second_compliance):
    version = template_version_create(template=make_template(compliance), body=CN_SMS, actor=compliance)
    template_version_submit(version=version, actor=compliance)
    forbidden_phrase_save(phrase=ForbiddenPhrase(jurisdiction="CN", phrase="疑问", rule_code="FIRM_POLICY"),
                          changed=["phrase"], actor=compliance)
    with pytest.raises(ValidationError) as refused:
        template_version_approve(version=version, actor=second_compliance)
    assert [e.code for e in refused.value.error_dict["body"]] == ["FIRM_POLICY"]
    version.refresh_from_db()
    assert version.state == TemplateVersionState.PENDING_APPROVAL


def test_a_drafts_findings_follow_its_templates_settings(compliance):
    template = make_template(compliance)
    draft = template_version_create(template=template, body=CN_SMS, actor=compliance)
    assert draft.lint_codes == []
    template.third_party_safe = True
    message_template_save(template=template, changed=["third_party_safe"], actor=compliance)
    draft.refresh_from_db()
    assert draft.lint_codes == ["THIRD_PARTY_DEBT_DISCLOSURE"]


def test_the_default_phrases_cover_every_phrase_rule_of_each_jurisdiction_with_a_source():
    rows = list(ForbiddenPhrase.objects.values_list("jurisdiction", "rule_code", "note"))
    seeded = {(jurisdiction, rule) for jurisdiction, rule, _note in rows}
    assert {("CN", "CN_THREAT"), ("CN", "CN_INSULT"), ("CN", "CN_IMPERSONATION"), ("CN", "CN_CONTACTS_MENTIONED"),
            ("CN", "CN_EXTRA_FEES"), ("US", "US_DEBT_MENTIONED"), ("UK", "UK_PRESSURE")} <= seeded
    assert all(note.strip() for _j, _r, note in rows)


def test_only_compliance_officers_hold_the_template_rights(collector, supervisor, compliance):
    perms = ("collections_app.change_messagetemplate", "collections_app.add_messagetemplateversion",
             "collections_app.change_forbiddenphrase", "collections_app.approve_messagetemplateversion")
    assert all(compliance.has_perm(p) for p in perms)
    assert not any(user.has_perm(p) for user in (collector, supervisor) for p in perms)
