"""The collector's desk: the daily worklist, scheduled callbacks and account notes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField
from simple_history.models import HistoricalRecords

from .core import Loan


class Callback(models.Model):
    """A call the collector promised the borrower, at a time the policy allows."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="callbacks")
    phone = models.ForeignKey("consent_app.PhoneNumber", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="callbacks")
    due_at = models.DateTimeField(_("due at"))
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at"]
        indexes = [models.Index(fields=["collector", "due_at"])]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")

    def __str__(self) -> str:
        return f"{self.loan} @ {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def open(self) -> bool:
        return self.done_at is None and self.cancelled_at is None


class Note(models.Model):
    """A free-text note on an account. Collectors may write personal details here, so the text is encrypted."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return _("note #%(id)s on %(loan)s") % {"id": self.pk, "loan": self.loan}


class WorklistEntry(models.Model):
    """One account on one collector's worklist for one working day, with the policy's verdict as of the build.

    The verdict is a cache for ordering and display, kept current: the page re-evaluates entries whose
    `recheck_at` has passed, and a change of a fact the policy reads re-evaluates the borrower's entries on commit
    (desk.signals). Every contact is still re-checked live when the account is opened and when a call starts."""

    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="worklist")
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="worklist_entries")
    work_date = models.DateField(_("work date"))
    priority = models.PositiveSmallIntegerField(_("priority group"))
    sort_key = models.CharField(max_length=120, help_text=_("Order within the list (see docs/worklist.md)."))
    contactable = models.BooleanField(_("contactable now"))
    reason_codes = models.JSONField(_("blocking reasons"), default=list, blank=True)
    decisions = models.JSONField(_("decisions per number"), default=list, blank=True)
    next_allowed_at = models.DateTimeField(_("next allowed at"), null=True, blank=True)
    # The first instant at which the clock alone may change the verdict (a window opening or closing, a hold
    # ending, a new local day); the page re-evaluates entries past it. None: only a change of the facts can.
    recheck_at = models.DateTimeField(_("recheck at"), null=True, blank=True)
    built_at = models.DateTimeField(_("built at"))
    worked_at = models.DateTimeField(_("worked at"), null=True, blank=True)

    class Meta:
        ordering = ["sort_key"]
        constraints = [
            models.UniqueConstraint(fields=["collector", "loan", "work_date"], name="uniq_worklist_entry"),
        ]
        indexes = [models.Index(fields=["collector", "work_date", "sort_key"])]
        verbose_name = _("worklist entry")
        verbose_name_plural = _("worklist entries")

    def __str__(self) -> str:
        return f"{self.collector} {self.work_date} {self.loan}"





class WorklistRun(models.Model):
    """That the nightly build of one zone's worklists for one working day was sent: the beat job runs every few
    minutes and sends each zone's build once, after WORKLIST_BUILD_TIME on that zone's clock (desk.tasks)."""

    zone = models.CharField(_("time zone"), max_length=64)
    work_date = models.DateField(_("work date"))
    sent_at = models.DateTimeField(_("sent at"))
    chunks = models.PositiveIntegerField(_("chunk tasks sent"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "work_date"], name="uniq_worklist_run")]
        verbose_name = _("worklist run")
        verbose_name_plural = _("worklist runs")

    def __str__(self) -> str:
        return f"{self.zone} {self.work_date}"


class NotificationKind(models.TextChoices):
    PLAN_APPROVED = "plan_approved", _("Repayment plan approved")
    PLAN_REJECTED = "plan_rejected", _("Repayment plan rejected")
    HOLD_LIFTED = "hold_lifted", _("Hold lifted")
    ACCOUNT_ASSIGNED = "account_assigned", _("Account assigned to you")


class Notification(models.Model):
    """Something a desk user is told about, shown in the desk's notification list until read.

    It holds no text of its own: what it says is rendered from the objects it points to (the plan's decision
    comment is encrypted on the plan), so a notification never copies personal data."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey("collections_app.RepaymentPlan", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"
