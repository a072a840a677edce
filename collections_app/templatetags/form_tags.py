"""The desk's forms laid out by hand: ``{% error_summary form %}`` (or ``{% error_summary form formset %}`` for a
page that posts a form and a formset together) at the top of the form, then ``{% field form.name %}`` for each
field (its label, help, errors and widget, as ``{{ form }}`` renders them).

The form template of the desk (templates/django/forms/desk/form.html) does both for ``{{ form }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms, template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@dataclass(frozen=True)
class SummaryEntry:
    message: str
    label: str = ""
    href: str = ""  # the id of the element the message is about (its link), empty for the form as a whole


def _form_entries(form: forms.BaseForm, row: int | None = None) -> list[SummaryEntry]:
    if not form.is_bound or not form.errors:
        return []
    where = _("Row %(n)d") % {"n": row} if row is not None else ""
    entries = [SummaryEntry(str(message), where) for message in form.non_field_errors()]
    for field in form:
        label = " · ".join(part for part in (where, str(field.label or "")) if part)
        entries += [SummaryEntry(str(message), label, _target(field)) for message in field.errors]
    return entries


def _target(field: forms.BoundField) -> str:
    """The id a summary's link goes to: the box, or the first of a group's (radio buttons, check boxes, whose
    label names no box); none for a hidden field, which has nothing to go to."""
    if field.is_hidden:
        return ""
    if field.id_for_label:
        return field.id_for_label
    first = next(iter(field.subwidgets), None)
    return (first.id_for_label if first is not None else "") or field.auto_id or ""


def summary_entries(*items: Any) -> list[SummaryEntry]:
    """Every error of the given forms and formsets, in page order: a form's own errors, then its fields'; a
    formset's own errors, then each row's, prefixed with the row's number. A message, or a list of them, given
    instead of a form stands on its own (a refusal with no form on the page)."""
    entries: list[SummaryEntry] = []
    for item in items:
        if isinstance(item, str):
            entries.append(SummaryEntry(item))
        elif isinstance(item, list | tuple):
            entries += summary_entries(*item)
        elif isinstance(item, forms.BaseFormSet):
            if not item.is_bound:
                continue
            entries += [SummaryEntry(str(message)) for message in item.non_form_errors()]
            for number, row in enumerate(item.forms, start=1):
                entries += _form_entries(row, row=number)
        elif isinstance(item, forms.BaseForm):
            entries += _form_entries(item)
    return entries


@register.inclusion_tag("django/forms/desk/error_summary.html")
def error_summary(*items: Any) -> dict[str, Any]:
    return {"entries": summary_entries(*items)}


@register.simple_tag
def field(bound: forms.BoundField) -> SafeString:
    """One field as the desk's form template writes it: its group (label, help, errors, widget) in a
    ``div.field``, marked ``invalid`` when it has errors."""
    return format_html('<div class="field{}">{}</div>', " invalid" if bound.errors else "", bound.as_field_group())


@register.simple_tag
def labelled_box(bound: forms.BoundField, *labelled_by: str, described_by: str = "") -> SafeString:
    """A field's widget alone, for a table cell: named by the elements `labelled_by` (its row's and its column's
    headers, which name no input by themselves) and described by `described_by` (a hint the column shows once)
    and by its errors."""
    attrs: dict[str, str | bool] = {"aria-labelledby": " ".join(labelled_by)}
    described = [described_by] if described_by else []
    if bound.errors:
        described.append(f"{bound.auto_id}_error")
    if described:  # given, it stands for Django's own (which would name a per-row hint the table does not show)
        attrs["aria-describedby"] = " ".join(described)
    return bound.as_widget(attrs=attrs)
