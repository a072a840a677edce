from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from collections_app.date_fields import DayField, DayTimeField
from collections_app.forms import is_storable_id
from consent_app.models import FREE_TEXT_MAX_LENGTH, REVEAL_REASON_MAX_LENGTH, PhoneNumber
from consent_app.validators import validate_in_range

from ..models import AttemptOutcome, AttemptParty


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need the full number?"), max_length=REVEAL_REASON_MAX_LENGTH)

    def __init__(self, *args: Any, phone_id: int, **kwargs: Any) -> None:
        # One form per number on the account page: ids of their own, so each error names its own box.
        kwargs.setdefault("auto_id", f"id_reveal_{phone_id}_%s")
        super().__init__(*args, **kwargs)


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
    until = DayField(label=_("Hold until (borrower's date)"), prefer="future", validators=[validate_in_range])
    reason = forms.CharField(label=_("Reason"), max_length=FREE_TEXT_MAX_LENGTH)

    def __init__(self, *args: Any, borrower_zone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(DayField, self.fields["until"]).in_zone(borrower_zone)


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
    # One text box each (collections_app.date_fields), read on the borrower's clock.
    callback_at = DayTimeField(label=_("Call back at (borrower's time)"), required=False, prefer="future",
                               validators=[validate_in_range])
    promise_amount = forms.DecimalField(label=_("Promise to pay: amount"), required=False, min_value=0,
                                        decimal_places=2, max_digits=14)
    promise_date = DayField(label=_("Promise to pay: date"), required=False, prefer="future")
    dispute = forms.BooleanField(label=_("Borrower disputes the debt"), required=False)
    cease = forms.BooleanField(label=_("Borrower asks that all communication stop"), required=False)
    hold_until = DayField(label=_("Do not call before (borrower's date)"), required=False, prefer="future",
                          validators=[validate_in_range])
    note = forms.CharField(label=_("Note"), required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, borrower_zone: str = "UTC", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The form shows the borrower's wall clock: what is typed is read there ("14:30" is 14:30 for them).
        for name in ("callback_at", "promise_date", "hold_until"):
            cast(DayField | DayTimeField, self.fields[name]).in_zone(borrower_zone)
