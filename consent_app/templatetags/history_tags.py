"""The history pages of the admin in words (consent_app/templates/consent_app/admin/object_history_list.html):
`{{ record.history_change_reason|change_reason }}` writes a change reason by its label (consent_app.history)."""

from __future__ import annotations

from django import template

from consent_app.history import change_reason_label

register = template.Library()

register.filter("change_reason", change_reason_label)
