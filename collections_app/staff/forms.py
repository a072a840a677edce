from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from consent_app.validators import place_zones


class SignInForm(AuthenticationForm):
    """The sign-in form. A refused sign-in says neither which of the two was wrong nor whether the account exists;
    its message is filed on the password, the box to type again, so that box is the one marked invalid and
    described by it."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Your username and password didn't match, or the account is temporarily locked."),
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError as exc:
            self.add_error("password", exc)
            return self.cleaned_data


class SecondFactorCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


class TimeZoneForm(forms.Form):
    """The zone a user reads the desk on; empty: their team's (the label names it)."""

    time_zone = forms.ChoiceField(label=_("Your time zone"), required=False)

    def __init__(self, *args: Any, team_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("My team's zone (%(zone)s)") % {"zone": team_zone}),
                         *((zone, zone) for zone in sorted(place_zones()))]
