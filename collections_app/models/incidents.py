"""Incident pauses (应急预案): compliance stops all collection contact in a scope in one step.

A pause covers everything, one jurisdiction (the borrower's) or one team (the loans assigned to its collectors).
While it is in force — from `starts_at` until it is lifted, or until its planned end (`ends_at`) when it has one —
the contact policy answers `INCIDENT_PAUSE` for every contact in its scope (contact/pauses.py gives the engine
the pauses as facts). One compliance officer starts it; a second, never the one who started it, lifts it
(collections_app.incidents.services). A drill is a pause like any other and blocks contact as one: a team
rehearses the real steps, and a drill that let the dialer go on would rehearse nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField
from simple_history.models import HistoricalRecords

from consent_app.models import Jurisdiction

from .core import Team


class PauseScope(models.TextChoices):
    ALL = "all", _("All collection contact")
    JURISDICTION = "jurisdiction", _("One jurisdiction")
    TEAM = "team", _("One team")


class PauseReason(models.TextChoices):
    REGULATOR_INQUIRY = "regulator_inquiry", _("Regulator inquiry")
    DATA_INCIDENT = "data_incident", _("Data incident")
    DIALER_FAULT = "dialer_fault", _("Dialer fault")
    OTHER = "other", _("Other")


class IncidentPause(models.Model):
    scope = models.CharField(_("scope"), max_length=16, choices=PauseScope.choices)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, choices=Jurisdiction.choices, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="incident_pauses",
                             verbose_name=_("team"))
    reason = models.CharField(_("reason"), max_length=24, choices=PauseReason.choices)
    # Written into the audit events: a reference (an incident ticket, a regulator's letter), never a sentence.
    reference = models.CharField(_("reference"), max_length=64)
    # What the officer typed, if anything: encrypted, and never in an audit event.
    note = EncryptedTextField(_("note"), blank=True)
    drill = models.BooleanField(
        _("drill"), default=False,
        help_text=_("A drill blocks contact like a real pause: the team rehearses the real steps."),
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(
        _("planned end"), null=True, blank=True,
        help_text=_("Contact resumes at this time by itself. Leave empty to pause until a second officer lifts it."),
    )
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("started by"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("lifted by"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        verbose_name = _("incident pause")
        verbose_name_plural = _("incident pauses")
        permissions = [("lift_incidentpause", "Can lift an incident pause")]
        indexes = [models.Index(fields=["lifted_at"])]
        constraints = [
            models.CheckConstraint(
                name="incident_pause_scope_target",
                condition=(Q(scope="all", jurisdiction="", team__isnull=True)
                           | Q(scope="jurisdiction", team__isnull=True) & ~Q(jurisdiction="")
                           | Q(scope="team", jurisdiction="", team__isnull=False)),
            ),
            models.CheckConstraint(
                name="incident_pause_lifted_with_officer",
                condition=Q(lifted_at__isnull=True, lifted_by__isnull=True)
                | Q(lifted_at__isnull=False, lifted_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_scope_display()})"
