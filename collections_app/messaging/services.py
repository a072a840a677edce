"""Writes of the messaging area: templates, their versions and the approval, the forbidden phrases; and the
rendering of a published version (a read that checks the content rules again).

Every write runs in one transaction with its audit event (ids and rule codes, never the text). Only compliance
officers write (`collections_app.change_messagetemplate` and friends); a version is approved or rejected by a
compliance officer who holds `approve_messagetemplateversion` and is not its author. A published (approved) or
rejected version is never changed again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_app.models import AuditAction
from audit_app.services import audit_log
from consent_app.history import with_change_reason
from consent_app.services import check_text_length

from ..models import ForbiddenPhrase, MessageTemplate, MessageTemplateVersion, TemplateVersionState
from . import lint
from .labels import finding_label
from .selectors import forbidden_phrases_for, template_facts

# What may not change on a template once a version of it is published: it would change what the approved words
# mean (a third-party-safe flag turned on, a voice template turned SMS).
LOCKED_WHEN_PUBLISHED = ("code", "channel", "jurisdiction", "language", "third_party_safe")


def _require(actor: Any, perm: str) -> None:
    if not (actor is not None and actor.is_active and actor.has_perm(f"collections_app.{perm}")):
        raise PermissionDenied(_("Only compliance officers can change message templates."))


def content_error(findings: Sequence[lint.Finding]) -> ValidationError:
    """A ValidationError on `body` naming every rule broken, by its code (and the variable or phrase)."""
    return ValidationError({"body": [ValidationError(finding_label(f), code=f.code) for f in findings]})


def lint_version(version: MessageTemplateVersion, phrases: Sequence[lint.Phrase] | None = None) -> list[lint.Finding]:
    """The content rules the version's text breaks, against today's phrase list (or `phrases`, read once for many
    versions of one template)."""
    template = version.template
    if phrases is None:
        phrases = forbidden_phrases_for(template.jurisdiction)
    return lint.lint_body(version.body, template_facts(template), phrases)


# --- Templates -----------------------------------------------------------------------------------------------------


def message_template_check(*, template: MessageTemplate, changed: Sequence[str]) -> None:
    """Refuse a change of what a published version's words depend on (the admin's form asks first)."""
    locked = sorted(set(changed) & set(LOCKED_WHEN_PUBLISHED))
    if locked and MessageTemplateVersion.objects.filter(template_id=template.pk,
                                                        state=TemplateVersionState.APPROVED).exists():
        raise ValidationError({name: _("A version of this template is published: this cannot change. "
                                       "Make a new template instead.") for name in locked})


@transaction.atomic
def message_template_save(*, template: MessageTemplate, changed: Sequence[str], actor: Any) -> MessageTemplate:
    """Create a template or change its settings (admin)."""
    created = template.pk is None
    _require(actor, "add_messagetemplate" if created else "change_messagetemplate")
    if not created:
        message_template_check(template=template, changed=changed)
    template.full_clean()
    with_change_reason(template, "created" if created else "changed")
    template.save()
    if not created:
        _relint_drafts(template)
    audit_log(action=AuditAction.MESSAGE_TEMPLATE_SAVED, subject=template, actor=actor,
              data={"created": created, "fields": sorted(changed), "channel": template.channel,
                    "jurisdiction": template.jurisdiction, "third_party_safe": template.third_party_safe})
    return template


def _relint_drafts(template: MessageTemplate) -> None:
    """A draft's findings follow its template's settings (a template turned third-party safe, say): the findings
    shown must be those a submission would meet."""
    phrases = forbidden_phrases_for(template.jurisdiction)
    for draft in template.versions.filter(state=TemplateVersionState.DRAFT):
        draft.template = template
        codes = lint.finding_codes(lint_version(draft, phrases))
        if codes != draft.lint_codes:
            draft.lint_codes = codes
            with_change_reason(draft, "changed")
            draft.save(update_fields=["lint_codes", "updated_at"])


# --- Versions ------------------------------------------------------------------------------------------------------


def _locked_version(version: MessageTemplateVersion) -> MessageTemplateVersion:
    return MessageTemplateVersion.objects.select_for_update().select_related("template").get(pk=version.pk)


def _version_event(action: AuditAction, version: MessageTemplateVersion, actor: Any, **data: Any) -> None:
    audit_log(action=action, subject=version, actor=actor,
              data={"template_id": version.template_id, "number": version.number, "state": version.state, **data})


@transaction.atomic
def template_version_create(*, template: MessageTemplate, body: str, actor: Any) -> MessageTemplateVersion:
    """A new draft, numbered after the template's last version. A draft may break rules (it is work in
    progress); its findings are stored and shown, and it cannot be submitted until it passes."""
    _require(actor, "add_messagetemplateversion")
    template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    last = template.versions.aggregate(last=Max("number"))["last"] or 0
    version = MessageTemplateVersion(template=template, number=last + 1, author=actor)
    return _save_draft(version, body, actor, created=True)


@transaction.atomic
def template_version_update(*, version: MessageTemplateVersion, body: str, actor: Any) -> MessageTemplateVersion:
    """Change a draft's text. A version submitted, published or rejected is never changed."""
    _require(actor, "change_messagetemplateversion")
    version = _locked_version(version)
    if version.state != TemplateVersionState.DRAFT:
        raise ValidationError({"body": ValidationError(
            _("Only a draft can be changed: this version is %(state)s. Write a new version instead.")
            % {"state": version.get_state_display()}, code="immutable")})
    return _save_draft(version, body, actor, created=False)


def _save_draft(version: MessageTemplateVersion, body: str, actor: Any, *, created: bool) -> MessageTemplateVersion:
    """Write a draft's text with the findings it has now, and its audit event."""
    check_text_length(body, field_name="body", limit=1000)
    version.body = body.strip()
    version.lint_codes = lint.finding_codes(lint_version(version))
    version.full_clean()
    with_change_reason(version, "created" if created else "changed")
    version.save()
    _version_event(AuditAction.TEMPLATE_VERSION_SAVED, version, actor, created=created, lint=version.lint_codes)
    return version


@transaction.atomic
def template_version_submit(*, version: MessageTemplateVersion, actor: Any) -> MessageTemplateVersion:
    """Send a draft for approval: only when it passes every content rule."""
    _require(actor, "change_messagetemplateversion")
    version = _locked_version(version)
    if version.state != TemplateVersionState.DRAFT:
        raise ValidationError(_("Only a draft can be submitted for approval."), code="not_draft")
    findings = lint_version(version)
    if findings:
        raise content_error(findings)
    version.state = TemplateVersionState.PENDING_APPROVAL
    version.lint_codes = []
    version.submitted_at = timezone.now()
    with_change_reason(version, "draft → pending_approval")
    version.save()
    _version_event(AuditAction.TEMPLATE_VERSION_SUBMITTED, version, actor)
    return version


def _check_decider(version: MessageTemplateVersion, actor: Any) -> None:
    _require(actor, "approve_messagetemplateversion")
    if version.state != TemplateVersionState.PENDING_APPROVAL:
        raise ValidationError(_("Only a version pending approval can be decided."), code="not_pending")
    if version.author_id == actor.pk:
        raise PermissionDenied(_("A second compliance officer decides: the author cannot decide their own version."))


def may_decide(*, version: MessageTemplateVersion, actor: Any) -> bool:
    """Whether `actor` may approve or reject the version now (the buttons a version's page offers)."""
    try:
        _check_decider(version, actor)
    except (PermissionDenied, ValidationError):
        return False
    return True


@transaction.atomic
def template_version_approve(*, version: MessageTemplateVersion, actor: Any) -> MessageTemplateVersion:
    """Publish a version pending approval. The rules are checked again: the phrase list may have grown."""
    version = _locked_version(version)
    _check_decider(version, actor)
    findings = lint_version(version)
    if findings:
        raise content_error(findings)
    version.state = TemplateVersionState.APPROVED
    version.approver = actor
    version.decided_at = timezone.now()
    with_change_reason(version, f"pending_approval → approved: approved by {actor.get_username()}")
    version.save()
    _version_event(AuditAction.TEMPLATE_VERSION_APPROVED, version, actor)
    return version


@transaction.atomic
def template_version_reject(*, version: MessageTemplateVersion, comment: str, actor: Any) -> MessageTemplateVersion:
    """Turn a version pending approval down, saying why (the comment is kept encrypted on the version, never in
    the audit event). The author writes a new version."""
    version = _locked_version(version)
    _check_decider(version, actor)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say why the version is rejected.")}, code="required")
    check_text_length(comment, field_name="comment")
    version.state = TemplateVersionState.REJECTED
    version.approver = actor
    version.decided_at = timezone.now()
    version.decision_comment = comment
    with_change_reason(version, f"pending_approval → rejected: declined by {actor.get_username()}")
    version.save()
    _version_event(AuditAction.TEMPLATE_VERSION_REJECTED, version, actor)
    return version


# --- Forbidden phrases ---------------------------------------------------------------------------------------------


def forbidden_phrase_check(*, phrase: ForbiddenPhrase) -> None:
    """Its rule is one matched by phrases and holds in its jurisdiction; it has something to match."""
    rule = lint.RULES.get(phrase.rule_code)
    if rule is None or not rule.phrases:
        raise ValidationError({"rule_code": _("Choose a content rule that is matched by phrases.")})
    if phrase.jurisdiction and not rule.applies(jurisdiction=phrase.jurisdiction):
        raise ValidationError({"rule_code": _("This rule does not hold in the phrase's jurisdiction.")})
    if not lint.normalise(phrase.phrase):
        raise ValidationError({"phrase": _("A phrase needs letters or digits.")})


@transaction.atomic
def forbidden_phrase_save(*, phrase: ForbiddenPhrase, changed: Sequence[str], actor: Any) -> ForbiddenPhrase:
    """Add or change a forbidden phrase (admin). Its rule must be a phrase rule that holds in its jurisdiction."""
    created = phrase.pk is None
    _require(actor, "add_forbiddenphrase" if created else "change_forbiddenphrase")
    phrase.phrase = phrase.phrase.strip()
    forbidden_phrase_check(phrase=phrase)
    phrase.full_clean()
    with_change_reason(phrase, "created" if created else "changed")
    phrase.save()
    audit_log(action=AuditAction.FORBIDDEN_PHRASE_SAVED, subject=phrase, actor=actor,
              data={"created": created, "fields": sorted(changed), "rule": phrase.rule_code,
                    "jurisdiction": phrase.jurisdiction})
    return phrase


# --- Rendering -----------------------------------------------------------------------------------------------------


def template_render(*, version: MessageTemplateVersion, variables: Mapping[str, Any]) -> str:
    """The text of a message from a published version and its variables. The content rules are checked again,
    on the template and on the filled-in text, against today's phrase list; a version not published, or a text
    that breaks a rule, raises ValidationError with the rules' codes."""
    if version.state != TemplateVersionState.APPROVED:
        raise ValidationError(_("Only a published version can be sent."), code="not_published")
    template = version.template
    text, findings = lint.lint_rendered(version.body, {k: str(v) for k, v in variables.items()},
                                        template_facts(template), forbidden_phrases_for(template.jurisdiction))
    if findings:
        raise content_error(findings)
    return text
