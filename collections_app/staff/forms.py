from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from consent_app.validators import place_zones


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
