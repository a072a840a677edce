"""Admin for incident pauses (compliance officers only; imported by collections_app/admin.py).

The list shows every pause with its scope, reason, who started and who lifted it, and how long it lasted. "Add"
starts a pause (incidents.services.incident_pause_start); a pause is never edited: a second officer lifts it from
its page (the lift page asks for a confirmation). Nothing is deleted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from collections_app.forms import add_service_errors
from consent_app.admin.toolkit import ProtectedHistoryAdmin, adopt

from ..models import IncidentPause
from .services import incident_pause_check, incident_pause_lift, incident_pause_start, started_it

LIFT_PERMISSION = "collections_app.lift_incidentpause"


class IncidentPauseForm(forms.ModelForm):
    class Meta:
        model = IncidentPause
        fields = ["scope", "jurisdiction", "team", "reason", "reference", "note", "drill", "ends_at"]
        help_texts = {
            "reference": _("The incident's reference (a ticket, a regulator's letter), e.g. INC-2026-0014. It is "
                           "written into the audit trail; details go in the note."),
            "note": _("Kept encrypted on the pause, never in the audit trail."),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                incident_pause_check(**_arguments(cleaned))
            except ValidationError as exc:
                add_service_errors(self, exc)
        return cleaned


def _arguments(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "scope": data.get("scope") or "", "jurisdiction": data.get("jurisdiction") or "", "team": data.get("team"),
        "reason": data.get("reason") or "", "reference": data.get("reference") or "", "note": data.get("note") or "",
        "drill": bool(data.get("drill")), "ends_at": data.get("ends_at"),
    }


@admin.register(IncidentPause)
class IncidentPauseAdmin(ProtectedHistoryAdmin):
    form = IncidentPauseForm
    list_display = ("reference", "scope_label", "reason", "drill", "starts_at", "ends_at", "lifted_at",
                    "duration_label", "started_by", "lifted_by")
    list_filter = ("scope", "reason", "drill", "jurisdiction")
    list_select_related = ("team", "started_by", "lifted_by")
    search_fields = ("reference",)
    readonly_fields = ("scope", "jurisdiction", "team", "reason", "reference", "note", "drill", "starts_at",
                       "ends_at", "started_by", "lifted_at", "lifted_by", "duration_label", "lift_link")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return IncidentPauseForm.Meta.fields
        return ["scope", "jurisdiction", "team", "reason", "reference", "note", "drill", "starts_at", "ends_at",
                "started_by", "lifted_at", "lifted_by", "duration_label", "lift_link"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a pause is started and lifted, never edited

    @admin.display(description=_("scope"))
    def scope_label(self, obj: IncidentPause) -> str:
        if obj.team_id:
            return f"{obj.get_scope_display()}: {obj.team}"
        if obj.jurisdiction:
            return f"{obj.get_scope_display()}: {obj.get_jurisdiction_display()}"
        return str(obj.get_scope_display())

    @admin.display(description=_("duration"))
    def duration_label(self, obj: IncidentPause) -> str:
        if obj.starts_at is None:
            return ""
        end = obj.lifted_at or (obj.ends_at if obj.ends_at and obj.ends_at <= timezone.now() else None)
        minutes = int(((end or timezone.now()) - obj.starts_at) / timedelta(minutes=1))
        text = _("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}
        return str(text) if end else str(_("%(duration)s so far (in force)") % {"duration": text})

    @admin.display(description=_("lift"))
    def lift_link(self, obj: IncidentPause) -> str:
        if obj.lifted_at is not None:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:collections_app_incidentpause_lift", args=[obj.pk]), _("Lift this pause"))

    def save_model(self, request: HttpRequest, obj: IncidentPause, form: Any, change: bool) -> None:
        adopt(obj, incident_pause_start(actor=request.user, **_arguments(form.cleaned_data)))

    def get_urls(self) -> list:
        return [path("<path:object_id>/lift/", self.admin_site.admin_view(self.lift_view),
                     name="collections_app_incidentpause_lift"), *super().get_urls()]

    def lift_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj: Any = self._check_in_scope(request, object_id)
        if not request.user.has_perm(LIFT_PERMISSION):
            raise PermissionDenied
        change_url = reverse("admin:collections_app_incidentpause_change", args=[obj.pk])
        form = LiftForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                incident_pause_lift(pause=obj, actor=request.user)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
            else:
                self.message_user(request, _("%(pause)s was lifted: contact in its scope resumes.") % {"pause": obj},
                                  messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {**self.admin_site.each_context(request), "title": _("Lift %(pause)s") % {"pause": obj},
                   "form": form, "pause": obj, "opts": self.model._meta, "change_url": change_url,
                   "same_officer": started_it(obj, request.user)}
        return TemplateResponse(request, "collections_app/incidents/admin/lift.html", context,
                                status=422 if form.is_bound else 200)


class LiftForm(forms.Form):
    confirm = forms.BooleanField(label=_("I confirm that the incident allows collection contact to resume."))
