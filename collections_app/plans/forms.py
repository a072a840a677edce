"""Forms of the plans pages. They parse input only; the services validate the business rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent_app.models import FREE_TEXT_MAX_LENGTH
from consent_app.validators import validate_in_range

from ..models import ContactAttempt, Loan, PlanKind


class DateInput(forms.DateInput):
    input_type = "date"


def _conversation_choices(loan: Loan) -> forms.ModelChoiceField:
    # The loan's recent conversations, to link the promise or plan to the call it was agreed in.
    since = timezone.now() - timedelta(days=30)
    return forms.ModelChoiceField(
        queryset=ContactAttempt.objects.filter(loan=loan, outcome="conversation", started_at__gte=since)
        .order_by("-started_at"),
        required=False, label=_("Agreed in the conversation of"),
    )


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    promise_date = forms.DateField(label=_("Promised date"), widget=DateInput)
    attempt = forms.ModelChoiceField(queryset=ContactAttempt.objects.none(), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=FREE_TEXT_MAX_LENGTH,
                           help_text=_("No personal details: amounts, dates and what was agreed."))

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attempt"] = _conversation_choices(loan)
        self.fields["promise_date"].initial = timezone.localdate() + timedelta(days=7)


class PlanForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PlanKind.choices, initial=PlanKind.INSTALLMENTS)
    agreed_total = forms.DecimalField(
        label=_("Agreed total"), required=False, min_value=0, max_digits=14, decimal_places=2,
        help_text=_("For a settlement: the amount agreed, below the balance. An installment plan covers the "
                    "whole balance (leave empty)."),
    )
    reason = forms.CharField(
        label=_("Reason for the approver"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        max_length=FREE_TEXT_MAX_LENGTH,
        help_text=_("Required when the plan is beyond your approval limits."),
    )
    attempt = forms.ModelChoiceField(queryset=ContactAttempt.objects.none(), required=False)

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attempt"] = _conversation_choices(loan)


class InstallmentForm(forms.Form):
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput)
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if bool(data.get("due_date")) != (data.get("amount") is not None):
            raise forms.ValidationError(_("Give both a date and an amount, or leave the row empty."))
        return data


class BaseInstallmentFormSet(forms.BaseFormSet):
    def schedule(self) -> list[tuple[date, Any]]:
        return [(f.cleaned_data["due_date"], f.cleaned_data["amount"]) for f in self.forms
                if f.cleaned_data.get("due_date")]


def installment_formset(data: Any = None) -> BaseInstallmentFormSet:
    rows = min(12, settings.PLAN_MAX_INSTALLMENTS)
    # formset_factory's stub returns type[BaseFormSet]: the class it builds subclasses the `formset` given.
    FormSet = cast(type[BaseInstallmentFormSet], forms.formset_factory(
        InstallmentForm, formset=BaseInstallmentFormSet, extra=rows, max_num=settings.PLAN_MAX_INSTALLMENTS,
        validate_max=True,
    ))
    return FormSet(data, prefix="inst")


class DecisionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=FREE_TEXT_MAX_LENGTH)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=FREE_TEXT_MAX_LENGTH)


class ReportPeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput, validators=[validate_in_range])
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput, validators=[validate_in_range])

    def period(self) -> tuple[date, date]:
        """The period asked for (default: the last 30 days); the views answer a refused date with the form's
        errors instead."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - timedelta(days=29)
        return min(date_from, date_to), max(date_from, date_to)
