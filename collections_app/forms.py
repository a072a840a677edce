"""Form helpers shared by the desk's views and the admin (a leaf module)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _


class DeskFormRenderer(TemplatesSetting):
    """Every form of the desk through one template pack (templates/django/forms/desk/, settings.FORM_RENDERER): a
    summary of the form's errors first (role="alert", each linked to its field; desk.js moves the focus to it after
    a refused submit), then each field with its label, help, errors and widget. Django marks an invalid field
    `aria-invalid` and points its `aria-describedby` at its help and at its error list, whose id it writes.
    Layouts of their own render `{% error_summary form %}` (form_tags) and each field's `as_field_group`."""

    form_template_name = "django/forms/desk/form.html"


def add_service_errors(
    form: forms.BaseForm, exc: ValidationError, *, field_names: Mapping[str, str] | None = None
) -> None:
    """File a service's ValidationError on `form`, so the page shows it next to what the user typed.

    Errors by field go to the form field of that name (`field_names` maps a service's name to the form's, when
    they differ); a field the form does not have, and a ValidationError without fields, become non-field errors.
    Each error keeps its code and parameters."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        if field_names is not None:
            name = field_names.get(name, name)
        form.add_error(name if name in form.fields else None, errors)


def is_storable_id(model: type[Model], value: Any) -> bool:
    """Can `value` be a primary key of `model`: a positive whole number within the range of the database's column
    (a larger one makes the database raise instead of finding nothing)?"""
    bounds = connection.ops.integer_field_ranges.get(model._meta.pk.get_internal_type())
    if bounds is None:  # not an integer key: the field's own validation decides
        return True
    try:
        number = int(str(value).strip())
    except ValueError:
        return False
    return 1 <= number <= bounds[1]


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField whose ids are checked against the database's range before the query, and whose
    errors do not repeat what was sent."""

    default_error_messages = {
        "invalid_choice": _("Select a valid choice. That choice is not one of the available choices."),
        "invalid_pk_value": _("Select a valid choice. That choice is not one of the available choices."),
    }

    def clean(self, value: Any) -> Any:
        if self._names_an_unstorable_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().clean(value)

    def _names_an_unstorable_id(self, value: Any) -> bool:
        queryset = self.queryset
        if queryset is None or self.to_field_name is not None or not isinstance(value, list | tuple):
            return False
        return any(not is_storable_id(queryset.model, v) for v in value)
