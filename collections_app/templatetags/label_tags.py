"""The codes the desk stores, as its pages show them (collections_app.labels):
``{{ h.history_change_reason|change_reason }}``, ``{{ loan.bucket|bucket }}``, ``{{ rule|routing_rule }}``..., and
``{% reason code rule message %}`` for a contact policy reason (its label or message, with the code kept out of
sight for support and tests)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from collections_app import labels
from collections_app.contact.reason_labels import label as reason_title

register = template.Library()

register.filter("change_reason", labels.change_reason_label)
register.filter("bucket", labels.bucket_label)
register.filter("routing_rule", labels.routing_rule_label)
register.filter("escalation", labels.escalation_label)
register.filter("reveal_reason", labels.reveal_reason_label)
register.filter("revealed_field", labels.revealed_field_label)
register.filter("consent_state", labels.consent_state_label)


@register.filter
def channel_names(channels: Iterable[str]) -> str:
    return labels.channel_names(list(channels))


@register.simple_tag
def reason(code: str, rule: str = "", message: str = "") -> SafeString:
    """A policy reason in words: the decision's message when there is one, else the code's title (无授权同意).
    The code stays in `data-code` (support, tests), the legal source in the title; neither is shown."""
    text = str(message) if message else reason_title(code)
    if rule:
        return format_html('<span class="reason" data-code="{}" title="{}">{}</span>', code, rule, text)
    return format_html('<span class="reason" data-code="{}">{}</span>', code, text)
