"""The audit trail in admin: read-only. Events are append-only (the model refuses updates and deletes); the admin
offers no add, change, delete or bulk action, and its change page is a view. The seal columns are shown as stored
(empty until the sealer has chained the event, usually within a second)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditAction, AuditEvent, subject_type_label


class ActionFilter(admin.SimpleListFilter):
    """The actions by their labels (the column holds codes)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return sorted(AuditAction.choices, key=lambda choice: str(choice[1]))

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(action=self.value()) if self.value() else queryset


class SubjectTypeFilter(admin.SimpleListFilter):
    """The subject types recorded, by their models' names."""

    title = _("subject type")
    parameter_name = "subject_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        types = AuditEvent.objects.order_by().values_list("subject_type", flat=True).distinct()
        return sorted(((t, subject_type_label(t)) for t in types), key=lambda choice: choice[1])

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(subject_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "action_label", "actor_label", "subject")
    list_filter = (ActionFilter, "occurred_at", SubjectTypeFilter)
    search_fields = ("=subject_id",)
    search_help_text = _("Exact subject id (e.g. the borrower's or consent's database id).")
    date_hierarchy = "occurred_at"
    actions = None
    list_per_page = 100
    # The log grows without bound: skip the unfiltered COUNT(*) on every page.
    show_full_result_count = False
    fields = ("occurred_at", "action_label", "actor_label", "actor", "subject", "data_pretty", "seq", "sealed_at",
              "key_id", "prev_hash", "hash")
    readonly_fields = fields

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj: AuditEvent) -> str:
        return obj.get_action_display()

    @admin.display(description=_("subject"), ordering="subject_type")
    def subject(self, obj: AuditEvent) -> str:
        label = obj.subject_label
        if "." not in obj.subject_type or not obj.subject_id:
            return label
        app_label, model_name = obj.subject_type.split(".", 1)
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[obj.subject_id])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description=_("data"))
    def data_pretty(self, obj: AuditEvent) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
