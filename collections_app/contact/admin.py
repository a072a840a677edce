"""Admin for contact policies. Compliance officers never edit a version: "Add" starts from the latest version of
the policy (copy and edit) and publishes the result as the next version through policy_version_create."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from collections_app.contact.services import (
    EDITABLE_KEYS,
    policy_version_create,
    policy_version_data,
    validate_policy_data,
)
from collections_app.forms import add_service_errors
from consent_app.admin.toolkit import ProtectedHistoryAdmin, ScopedAdminMixin

from .. import policy
from ..models import ContactAttempt, ContactPolicy, ContactPolicyVersion, PublicHoliday
from .reason_labels import source_label


class ContactPolicyVersionForm(forms.ModelForm):
    class Meta:
        model = ContactPolicyVersion
        fields = ["policy", "effective_from", "change_note", *EDITABLE_KEYS]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        policy_obj = cleaned.get("policy")
        if policy_obj is None or self.errors:
            return cleaned
        data = {key: cleaned.get(key) for key in EDITABLE_KEYS}
        try:
            validate_policy_data(data, code=policy_obj.code)
        except ValidationError as exc:
            add_service_errors(self, exc)
        if not (cleaned.get("change_note") or "").strip():
            self.add_error("change_note", _("Say what changed and why."))
        return cleaned


class _HistoryReadOnly:
    """A version in the history is shown, never reverted: django-simple-history's version page saves what is
    POSTed to it with the admin's form and save_model without asking the change permission, so whoever may view
    a policy could publish a version (or rename the policy) through it. Changes go through the add and change
    forms, with their permissions."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[misc]

    def revert_disabled(self, request, obj=None) -> bool:
        return True


def source_notes(text: str) -> list[str]:
    """What the sources table says about a rule's source beside it: the presets mark a source not checked against
    the official text *unverified*, and a rule that is the firm's choice rather than law "firm policy"."""
    lowered = text.lower()
    notes = []
    if not text.strip():
        notes.append(str(_("No source given")))
    if "unverified" in lowered:
        notes.append(str(_("Unverified against the official text")))
    if "firm policy" in lowered:
        notes.append(str(_("Firm policy, not law")))
    return notes


def sources_table(sources: Any) -> SafeString:
    """A version's legal sources as a table, one row per rule: the rule, its source, the notes on it. The rules
    in the engine's order (policy.SOURCE_KEYS), then any other key the version stores."""
    sources = sources if isinstance(sources, dict) else {}
    keys = [key for key in policy.SOURCE_KEYS if key in sources] + sorted(k for k in sources
                                                                          if k not in policy.SOURCE_KEYS)
    rows = format_html_join(
        "", '<tr><th scope="row">{}<br><code>{}</code></th><td>{}</td><td>{}</td></tr>',
        ((source_label(key), key, str(sources[key]), " · ".join(source_notes(str(sources[key])))) for key in keys),
    )
    return format_html(
        '<table class="policy-sources"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
        _("Rule"), _("Legal source"), _("Note"), rows,
    )


@admin.register(ContactPolicyVersion)
class ContactPolicyVersionAdmin(_HistoryReadOnly, ScopedAdminMixin, SimpleHistoryAdmin):
    form = ContactPolicyVersionForm
    list_display = ["policy", "version", "effective_from", "daily_attempt_cap", "rolling_attempt_cap",
                    "conversation_cooldown_days", "created_by", "note_label"]
    list_filter = ["policy"]
    list_select_related = ["policy", "created_by"]
    ordering = ["policy", "-version"]
    readonly_fields = ["sources_table"]

    @admin.display(description=_("change note"), ordering="change_note")
    def note_label(self, obj: ContactPolicyVersion) -> str:
        return obj.display_change_note

    @admin.display(description=_("legal sources"))
    def sources_table(self, obj: ContactPolicyVersion) -> SafeString:
        return sources_table(obj.sources)

    def get_fields(self, request, obj=None) -> list[Any]:
        # A version is read, never edited: its sources as a table, not the JSON the add form edits.
        fields = [field for field in super().get_fields(request, obj) if field != "sources_table"]
        return fields if obj is None else ["sources_table" if field == "sources" else field for field in fields]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # immutable: the change page is a read-only view

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_changeform_initial_data(self, request) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        policy_id = request.GET.get("policy")
        latest = (
            ContactPolicyVersion.objects.filter(policy_id=policy_id).order_by("-version").first()
            if policy_id and policy_id.isdigit() else None
        )
        if latest is not None:
            initial.update(policy_version_data(latest))
        return initial

    def save_model(self, request, obj, form, change) -> None:
        version = policy_version_create(
            policy_obj=form.cleaned_data["policy"],
            data={key: form.cleaned_data[key] for key in EDITABLE_KEYS},
            actor=request.user,
            change_note=form.cleaned_data["change_note"],
            effective_from=form.cleaned_data["effective_from"],
        )
        obj.pk = version.pk
        obj.version = version.version
        obj._state.adding = False


class VersionInline(ScopedAdminMixin, admin.TabularInline):
    model = ContactPolicyVersion
    fields = readonly_fields = ("version", "effective_from", "note_label", "created_by")
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("change note"))
    def note_label(self, obj: ContactPolicyVersion) -> str:
        return obj.display_change_note


@admin.register(ContactPolicy)
class ContactPolicyAdmin(_HistoryReadOnly, ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["code", "name_label", "jurisdiction", "new_version_link"]
    inlines = [VersionInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("name"), ordering="name")
    def name_label(self, obj: ContactPolicy) -> str:
        return obj.display_name

    @admin.display(description=_("New version"))
    def new_version_link(self, obj: ContactPolicy) -> str:
        url = reverse("admin:collections_app_contactpolicyversion_add") + f"?policy={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Copy latest and edit"))


@admin.register(PublicHoliday)
class PublicHolidayAdmin(_HistoryReadOnly, ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["jurisdiction", "date", "name"]
    list_filter = ["jurisdiction"]
    date_hierarchy = "date"


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ProtectedHistoryAdmin):
    """Read-only: attempts are written by the desk and the dialer API with their verdict, never edited."""

    list_display = ["started_at", "loan", "masked_number", "channel", "direction", "outcome", "collector",
                    "compliant", "source"]
    list_filter = ["compliant", "channel", "direction", "outcome", "source"]
    list_select_related = ["loan", "phone", "collector"]
    search_fields = ["loan__loan_ref", "borrower__borrower_ref", "external_id"]
    date_hierarchy = "started_at"
    exclude = ["phone"]
    readonly_fields = ["masked_number", "loan", "borrower", "channel", "direction", "started_at", "ended_at",
                       "outcome", "party", "opt_out", "collector", "duration_s", "recording_ref", "external_id",
                       "compliant", "reasons", "policy_version", "source"]

    @admin.display(description=_("Number"))
    def masked_number(self, obj: ContactAttempt) -> str:
        return obj.phone.masked

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
