"""Form helpers shared by the desk's views and the admin (a leaf module)."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


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
