"""Message templates for reminders (SMS and voice): the template, its versions with their approval, and the
forbidden phrases the content rules match.

A template is what a message is sent from (its code, channel, jurisdiction, language, whether it may go to a third
party's number, how long a queued message may wait for an allowed time). Its wording lives in numbered versions: a
version is written as a draft, submitted, and approved (published) or rejected by a second compliance officer; a
published version is never changed, so every message can name the exact words it was sent with. The workflow and
the content rules are in collections_app.messaging.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField
from simple_history.models import HistoricalRecords

from consent_app.models import Jurisdiction

template_code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,47}$", _("Use lower-case letters, digits, _ and - only.")
)


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice message")


class MessageLanguage(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class TemplateVersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved (published)")
    REJECTED = "rejected", _("Rejected")


class MessageTemplate(models.Model):
    code = models.CharField(_("code"), max_length=48, unique=True, validators=[template_code_validator])
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, choices=Jurisdiction.choices)
    language = models.CharField(_("language"), max_length=8, choices=MessageLanguage.choices)
    third_party_safe = models.BooleanField(
        _("third-party safe"), default=False,
        help_text=_("Only such templates may go to a third party's number: they never mention the debt."),
    )
    valid_for_hours = models.PositiveIntegerField(
        _("valid for (hours)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text=_("How long a queued message may wait for an allowed time before it is blocked as expired."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self) -> str:
        return self.code


class MessageTemplateVersion(models.Model):
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.PROTECT, related_name="versions", verbose_name=_("template")
    )
    number = models.PositiveIntegerField(_("version"))
    body = models.TextField(
        _("text"), max_length=1000,
        help_text=_("Variables in braces, from the list below, e.g. {institution}."),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=TemplateVersionState.choices, default=TemplateVersionState.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("decided by"),
    )
    lint_codes = models.JSONField(
        _("content rule findings"), default=list, blank=True,
        help_text=_("The content rules the text broke when it was last checked; empty when it passed."),
    )
    decision_comment = EncryptedTextField(_("decision comment"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["template", "-number"]
        verbose_name = _("message template version")
        verbose_name_plural = _("message template versions")
        permissions = [("approve_messagetemplateversion", _("Can approve or reject message template versions"))]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="message_template_version_unique"),
            # A decided version names who decided it; the author is never that person (a second officer).
            models.CheckConstraint(
                condition=~models.Q(state__in=["approved", "rejected"]) | models.Q(approver__isnull=False),
                name="message_template_version_decided_by",
            ),
            models.CheckConstraint(
                condition=models.Q(approver__isnull=True) | ~models.Q(approver=models.F("author")),
                name="message_template_version_second_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.state == TemplateVersionState.APPROVED


class ForbiddenPhrase(models.Model):
    """A phrase no template may contain, matched on normalised text (collections_app.messaging.lint), with the
    content rule it breaks and its source in `note`."""

    jurisdiction = models.CharField(
        _("jurisdiction"), max_length=2, choices=Jurisdiction.choices, blank=True,
        help_text=_("Empty: every jurisdiction."),
    )
    phrase = models.CharField(_("phrase"), max_length=200)
    rule_code = models.CharField(_("content rule"), max_length=40)
    note = models.CharField(_("source and note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["jurisdiction", "rule_code", "phrase"]
        verbose_name = _("forbidden phrase")
        verbose_name_plural = _("forbidden phrases")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "phrase"], name="forbidden_phrase_unique"),
        ]

    def __str__(self) -> str:
        return self.phrase
