"""The compliance pages' forms: the audit search and the account list's filters. Dates are the reader's days (the
current time zone, their own clock)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit_app.models import AuditAction
from consent_app.admin.toolkit import is_phone_like
from consent_app.models import Jurisdiction
from consent_app.validators import validate_in_range

from ..loans.buckets import CURRENT, bucket_labels
from ..models import LoanStatus
from .selectors import AccountFilters, AuditSearch, known_user

DATE = forms.DateInput(attrs={"type": "date"})


class AuditSearchForm(forms.Form):
    """Every field is optional and every one given narrows the search. `number` is only ever posted: the view keeps
    it in the session and addresses the results by a random id, so the number is in no address or log line."""

    loan_ref = forms.CharField(label=_("Loan reference"), required=False, max_length=64)
    borrower_ref = forms.CharField(label=_("Borrower reference"), required=False, max_length=64)
    number = forms.CharField(label=_("Phone number"), required=False, max_length=40,
                             help_text=_("The whole number, in any format: national, +country code or 00 prefix."))
    user = forms.CharField(label=_("User"), required=False, max_length=150,
                           help_text=_("The username of whoever acted; “system” for jobs and imports."))
    action = forms.ChoiceField(label=_("Event"), required=False, choices=[("", "—"), *AuditAction.choices])
    start = forms.DateField(label=_("From"), required=False, widget=DATE, validators=[validate_in_range])
    end = forms.DateField(label=_("To (inclusive)"), required=False, widget=DATE, validators=[validate_in_range])

    # The fields that travel in the results' address (the number never does).
    ADDRESS_FIELDS = ("loan_ref", "borrower_ref", "user", "action", "start", "end")

    def clean_number(self) -> str:
        number = (self.cleaned_data.get("number") or "").strip()
        if number and not is_phone_like(number):
            # Never repeat what was typed: it may be most of someone's number.
            raise forms.ValidationError(_("Type the whole number (at least six digits), in any format."))
        return number

    def clean_user(self) -> str:
        username = (self.cleaned_data.get("user") or "").strip()
        if username and not known_user(username):
            raise forms.ValidationError(_("No user has this username."))
        return username

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("loan_ref", "borrower_ref"):
            data[name] = (data.get(name) or "").strip()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("start", _("The start must not be after the end."))
        return data

    def address_params(self) -> dict[str, str]:
        """The search as the results' query string: what was given, as typed (dates as ISO days)."""
        data = self.cleaned_data
        params = {}
        for name in self.ADDRESS_FIELDS:
            value = data.get(name)
            if value:
                params[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return params

    def search(self, *, number: str = "") -> AuditSearch:
        """The search, the reader's days turned into instants on their clock: [start 00:00, the day after end)."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        start = datetime.combine(data["start"], time(0), tzinfo=zone) if data.get("start") else None
        end = datetime.combine(data["end"] + timedelta(days=1), time(0), tzinfo=zone) if data.get("end") else None
        return AuditSearch(loan_ref=data["loan_ref"], borrower_ref=data["borrower_ref"],
                           number=number or data.get("number", ""), username=data.get("user", ""),
                           action=data.get("action", ""), start=start, end=end)


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Reference or last four digits"), required=False, max_length=64)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *LoanStatus.choices])
    jurisdiction = forms.ChoiceField(label=_("Jurisdiction"), required=False,
                                     choices=[("", "—"), *Jurisdiction.choices])
    bucket = forms.ChoiceField(label=_("Bucket"), required=False)
    held = forms.BooleanField(label=_("On hold"), required=False)
    complaint = forms.BooleanField(label=_("Open complaint"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["bucket"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), (CURRENT, _("Current (not past due)")),
                         *((label, label) for label in bucket_labels())]

    def filters(self) -> AccountFilters:
        data = self.cleaned_data
        return AccountFilters(status=data.get("status", ""), jurisdiction=data.get("jurisdiction", ""),
                              bucket=data.get("bucket", ""), held=bool(data.get("held")),
                              complaint=bool(data.get("complaint")))
