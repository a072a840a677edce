from __future__ import annotations

from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collections_app.forms import is_storable_id
from consent_app.models import FREE_TEXT_MAX_LENGTH, REVEAL_REASON_MAX_LENGTH, PhoneNumber
from consent_app.validators import validate_in_range

from ..models import AttemptOutcome, AttemptParty


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need the full number?"), max_length=REVEAL_REASON_MAX_LENGTH)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


class CallForm(forms.Form):
    """The number to call, by id (the account page's call buttons)."""

    phone_id = forms.IntegerField(label=_("Phone number"), min_value=1)

    def clean_phone_id(self) -> int:
        value = self.cleaned_data["phone_id"]
        if not is_storable_id(PhoneNumber, value):
            raise forms.ValidationError(_("Select a valid choice. That choice is not one of the available choices."))
        return value


class HoldForm(forms.Form):
    # A temporary hold always ends (consent_app.services.restriction_place): the date is required.
    until = forms.DateField(label=_("Hold until (borrower's date)"),
                            widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_in_range])
    reason = forms.CharField(label=_("Reason"), max_length=FREE_TEXT_MAX_LENGTH)


class HoldLiftForm(forms.Form):
    """Lifting a hold: why, and an explicit confirmation the server checks (the page asks before anything
    changes)."""

    reason = forms.CharField(label=_("Why is the hold lifted?"), max_length=FREE_TEXT_MAX_LENGTH,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Say why the hold is lifted.")})
    confirm = forms.BooleanField(
        label=_("I confirm: the account may be contacted again as soon as the hold is lifted."),
        error_messages={"required": _("Tick the box to confirm that the hold is lifted.")},
    )


class ReassignForm(forms.Form):
    loan_ref = forms.CharField(label=_("Loan"), max_length=64)
    collector = forms.ChoiceField(label=_("To collector"))

    def __init__(self, *args, collectors=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["collector"]).choices = [(c.username, c.username) for c in collectors]


class OutcomeForm(forms.Form):
    """The outcome of a call and what was agreed in it. Times are the borrower's local time."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=AttemptOutcome.choices, widget=forms.RadioSelect)
    party = forms.ChoiceField(label=_("Who answered"), choices=[("", "—"), *AttemptParty.choices], required=False)
    opt_out = forms.BooleanField(label=_("Asked not to be called on this number again"), required=False)
    callback_at = forms.DateTimeField(
        label=_("Call back at (borrower's time)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], validators=[validate_in_range],
    )
    promise_amount = forms.DecimalField(label=_("Promise to pay: amount"), required=False, min_value=0,
                                        decimal_places=2, max_digits=14)
    promise_date = forms.DateField(label=_("Promise to pay: date"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    dispute = forms.BooleanField(label=_("Borrower disputes the debt"), required=False)
    cease = forms.BooleanField(label=_("Borrower asks that all communication stop"), required=False)
    hold_until = forms.DateField(label=_("Do not call before (borrower's date)"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_in_range])
    note = forms.CharField(label=_("Note"), required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, borrower_zone: str = "UTC", **kwargs):
        self.borrower_zone = ZoneInfo(borrower_zone)
        super().__init__(*args, **kwargs)

    def clean_callback_at(self) -> datetime | None:
        value = self.cleaned_data.get("callback_at")
        if value is None:
            return None
        # The form shows the borrower's wall clock: interpret the naive value in the borrower's zone.
        naive = timezone.make_naive(value) if timezone.is_aware(value) else value
        return naive.replace(tzinfo=self.borrower_zone)
