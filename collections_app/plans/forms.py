"""Forms of the plans pages. They parse input only; the services validate the business rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from collections_app.date_fields import DayField
from collections_app.desk.clock import borrower_clock, reader_clock
from consent_app.models import FREE_TEXT_MAX_LENGTH
from consent_app.validators import validate_in_range

from ..models import ContactAttempt, Loan, PlanKind


class ConversationChoiceField(forms.ModelChoiceField):
    """A conversation on the borrower's clock and the reader's, in the reader's language:
    ``芝加哥 12-05 08:30 (UTC−06:00) · 22:30（您的时间） · +1 312-***-0123 · collector1``."""

    def __init__(self, *args: Any, zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def label_from_instance(self, obj: ContactAttempt) -> str:
        parts = [borrower_clock(obj.started_at, self.zone),
                 gettext("%(time)s (your time)") % {"time": reader_clock(obj.started_at)}, obj.phone.masked]
        if obj.collector is not None:
            parts.append(obj.collector.get_username())
        return " · ".join(parts)


def _conversation_choices(loan: Loan) -> forms.ModelChoiceField:
    # The loan's recent conversations, to link the promise or plan to the call it was agreed in.
    since = timezone.now() - timedelta(days=30)
    return ConversationChoiceField(
        queryset=ContactAttempt.objects.filter(loan=loan, outcome="conversation", started_at__gte=since)
        .select_related("phone", "collector").order_by("-started_at"),
        required=False, label=_("Agreed in the conversation of"), zone=loan.borrower.primary_zone,
    )


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    # Typed in one box (collections_app.date_fields) and read on the borrower's clock.
    promise_date = DayField(label=_("Promised date"), prefer="future")
    attempt = forms.ModelChoiceField(queryset=ContactAttempt.objects.none(), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=FREE_TEXT_MAX_LENGTH,
                           help_text=_("No personal details: amounts, dates and what was agreed."))

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attempt"] = _conversation_choices(loan)
        promise_date = cast(DayField, self.fields["promise_date"])
        promise_date.in_zone(loan.borrower.primary_zone)
        promise_date.initial = promise_date.today() + timedelta(days=7)


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
    due_date = DayField(label=_("Due date"), required=False, prefer="future")
    amount = forms.DecimalField(label=_("Amount"), required=False, min_value=0, max_digits=14, decimal_places=2)

    def __init__(self, *args: Any, zone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(DayField, self.fields["due_date"]).in_zone(zone)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:  # a field refused what was typed: its own message says so
            return data
        # The message goes on the box left empty, so that box is the one marked and described.
        if data.get("due_date") and data.get("amount") is None:
            self.add_error("amount", _("Give both a date and an amount, or leave the row empty."))
        elif data.get("amount") is not None and not data.get("due_date"):
            self.add_error("due_date", _("Give both a date and an amount, or leave the row empty."))
        return data


class BaseInstallmentFormSet(forms.BaseFormSet):
    def schedule(self) -> list[tuple[date, Any]]:
        return [(f.cleaned_data["due_date"], f.cleaned_data["amount"]) for f in self.forms
                if f.cleaned_data.get("due_date")]


def installment_formset(data: Any = None, *, zone: str | None = None) -> BaseInstallmentFormSet:
    """The plan's installment rows; their dates are read on `zone`'s clock (the borrower's)."""
    rows = min(12, settings.PLAN_MAX_INSTALLMENTS)
    # formset_factory's stub returns type[BaseFormSet]: the class it builds subclasses the `formset` given.
    FormSet = cast(type[BaseInstallmentFormSet], forms.formset_factory(
        InstallmentForm, formset=BaseInstallmentFormSet, extra=rows, max_num=settings.PLAN_MAX_INSTALLMENTS,
        validate_max=True,
    ))
    return FormSet(data, prefix="inst", form_kwargs={"zone": zone})


class DecisionForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              max_length=FREE_TEXT_MAX_LENGTH)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=FREE_TEXT_MAX_LENGTH)

    def __init__(self, *args: Any, required_message: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if required_message:  # what is being cancelled, said when no reason is given
            self.fields["reason"].error_messages["required"] = required_message


class ReportPeriodForm(forms.Form):
    date_from = DayField(label=_("From"), required=False, prefer="past", validators=[validate_in_range])
    date_to = DayField(label=_("To"), required=False, prefer="past", validators=[validate_in_range])

    def period(self) -> tuple[date, date]:
        """The period asked for (default: the last 30 days); the views answer a refused date with the form's
        errors instead."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - timedelta(days=29)
        return min(date_from, date_to), max(date_from, date_to)
