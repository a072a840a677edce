"""Forms of the complaint screens. They parse and validate input; the services decide and write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from collections_app.date_fields import DayField, DayTimeField
from collections_app.forms import IdsChoiceField
from consent_app.validators import is_in_future, validate_in_range

from ..models import ComplaintCategory, ComplaintChannel, ComplaintOutcome, ContactAttempt, Loan
from .selectors import intake_attempts, intake_collectors


class AttemptChoiceField(IdsChoiceField):
    def label_from_instance(self, obj: ContactAttempt) -> str:
        local = timezone.localtime(obj.started_at)
        who = obj.collector.get_username() if obj.collector is not None else "-"
        return (f"{date_format(local, 'Y-m-d H:i')} · {obj.get_channel_display()} · {obj.phone.masked} · "
                f"{obj.get_outcome_display() or '-'} · {who}")


class ComplaintIntakeForm(forms.Form):
    channel = forms.ChoiceField(label=_("Received via"), choices=ComplaintChannel.choices)
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000,
        help_text=_("What the borrower says happened, in their words where possible."),
    )
    # One text box (collections_app.date_fields), on the reader's clock.
    received_at = DayTimeField(label=_("Received at (your time)"), required=False, prefer="past",
                               help_text=_("Empty: now."), validators=[validate_in_range])
    collectors: forms.ModelMultipleChoiceField[Any] = IdsChoiceField(
        label=_("Collectors concerned"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("The first one selected decides which supervisor reviews the complaint."),
    )
    attempts = AttemptChoiceField(
        label=_("Contact attempts concerned"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, loan: Loan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loan = loan
        cast(forms.ModelMultipleChoiceField, self.fields["collectors"]).queryset = intake_collectors(loan)
        cast(forms.ModelMultipleChoiceField, self.fields["attempts"]).queryset = intake_attempts(loan)

    def clean_received_at(self) -> Any:
        value = self.cleaned_data.get("received_at")
        if is_in_future(value):
            raise forms.ValidationError(_("A complaint cannot be received in the future."))
        return value


class TransitionForm(forms.Form):
    """One form for every move; the service checks the transition table and the fields each move needs."""

    to_state = forms.CharField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "---------"), *ComplaintOutcome.choices],
                                required=False)
    root_cause = forms.CharField(label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                 max_length=5_000)
    remediation = forms.CharField(label=_("Remediation"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=5_000)
    note = forms.CharField(label=_("How the borrower withdrew it"), widget=forms.Textarea(attrs={"rows": 2}),
                           required=False, max_length=5_000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The page shows one form per move: ids of their own (id_resolved_outcome...), so each error names its box.
        state = (self.data.get("to_state") if self.is_bound else self.initial.get("to_state")) or "move"
        self.auto_id = "id_" + "".join(c for c in str(state) if c.isalnum() or c == "_")[:40] + "_%s"


class ReportPeriodForm(forms.Form):
    start = DayField(label=_("From"), required=False, prefer="past", validators=[validate_in_range])
    end = DayField(label=_("To (inclusive)"), required=False, prefer="past", validators=[validate_in_range])

    MAX_DAYS = 366

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:  # a date the fields refused: no period to compute
            return data
        start, end = data.get("start"), data.get("end")
        today = timezone.localdate()
        end = end or today
        start = start or end - timedelta(days=29)
        if start > end:
            self.add_error("start", _("The start must not be after the end."))
        elif (end - start).days >= self.MAX_DAYS:
            self.add_error("start", _("At most %(n)d days.") % {"n": self.MAX_DAYS})
        data["start"], data["end"] = start, end
        return data
