"""Consents in admin: granted and withdrawn through the services (PIPL art. 15: withdrawal never deletes)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from consent_app.validators import is_in_future

from ..models import (
    Consent,
    WithdrawalChannel,
)
from ..services import (
    consent_grant,
    consent_withdraw,
)
from .filters import (
    ConsentChannelFilter,
    ConsentJurisdictionFilter,
    ConsentStateFilter,
)
from .toolkit import (
    PhoneSearchMixin,
    ProtectedHistoryAdmin,
    adopt,
    link_to,
)

# --- Consents ----------------------------------------------------------------------------------------------------


# How a borrower can ask, as recorded by a compliance officer; "api" is the loan system's own channel.
ADMIN_WITHDRAWAL_CHANNELS = tuple(v for v in WithdrawalChannel.values if v != WithdrawalChannel.API)


class ConsentGrantForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=_("channels"), choices=(("call", _("Calls")), ("sms", _("SMS"))), widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Consent
        fields = ("phone", "channels", "basis", "evidence_ref", "granted_at", "expires_at")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        phone, granted_at, expires_at = data.get("phone"), data.get("granted_at"), data.get("expires_at")
        if phone is not None and phone.third_party_id is not None:
            self.add_error("phone", _("Consent is given by the borrower for the borrower's own numbers."))
        if is_in_future(granted_at):
            self.add_error("granted_at", _("A consent cannot be granted in the future."))
        if granted_at and expires_at and expires_at <= granted_at:
            self.add_error("expires_at", _("The consent must expire after it was granted."))
        return data


class ConsentWithdrawForm(forms.ModelForm):
    withdraw_via = forms.ChoiceField(
        label=_("withdraw now, asked via"), required=False,
        choices=[("", "---------"), *((v, label) for v, label in WithdrawalChannel.choices
                                     if v in ADMIN_WITHDRAWAL_CHANNELS)],
        help_text=_("Leave empty to keep the consent. Withdrawal cannot be undone (a new consent is granted)."),
    )
    withdraw_channels = forms.MultipleChoiceField(
        label=_("only these channels"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=(("call", _("Calls")), ("sms", _("SMS"))), help_text=_("Empty: every channel."),
    )

    class Meta:
        model = Consent
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        unknown = set(data.get("withdraw_channels") or ()) - set(self.instance.channels)
        if unknown:
            self.add_error("withdraw_channels", _("This consent does not cover: %s.") % ", ".join(sorted(unknown)))
        return data


def _withdraw_action(via: str, label: str | Promise) -> Any:
    def action(modeladmin: ConsentAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        with transaction.atomic():
            for consent in queryset.filter(withdrawn_at__isnull=True):
                consent_withdraw(consent=consent, via=via, actor=request.user)
                count += 1
        modeladmin.message_user(request, _("%(n)d consent(s) withdrawn.") % {"n": count}, messages.SUCCESS)

    action.__name__ = f"withdraw_via_{via}"
    description = format_lazy(_("Withdraw selected consents (borrower asked: {via})"), via=label)
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Consent)
class ConsentAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    list_display = ("id", "masked_number", "borrower_link", "channels_label", "state_label", "basis", "granted_at",
                    "expires_at", "withdrawn_at", "withdrawn_via")
    list_filter = (ConsentStateFilter, ConsentChannelFilter, "basis", "withdrawn_via", ConsentJurisdictionFilter)
    list_select_related = ("phone", "phone__borrower")
    search_fields = ("phone__borrower__borrower_ref", "evidence_ref")
    date_hierarchy = "granted_at"
    autocomplete_fields = ("phone",)
    actions = [_withdraw_action(via, label) for via, label in WithdrawalChannel.choices
               if via in ADMIN_WITHDRAWAL_CHANNELS]

    def phone_search_q(self, indexes: set[str]) -> Q:
        return Q(phone__blind_index__in=indexes)

    @admin.display(description=_("number"))
    def masked_number(self, obj: Consent) -> str:
        return obj.phone.masked

    @admin.display(description=_("borrower"), ordering="phone__borrower__borrower_ref")
    def borrower_link(self, obj: Consent) -> str:
        return link_to(obj.phone.borrower)

    @admin.display(description=_("channels"))
    def channels_label(self, obj: Consent) -> str:
        return ", ".join(obj.channels)

    @admin.display(description=_("state"))
    def state_label(self, obj: Consent) -> str:
        return obj.state_at()

    form = ConsentWithdrawForm
    add_form = ConsentGrantForm

    _shown = ["phone_link", "channels_label", "state_label", "basis", "evidence_ref", "granted_at", "expires_at",
              "withdrawn_at", "withdrawn_via", "created_at"]

    @admin.display(description=_("number"))
    def phone_link(self, obj: Consent) -> str:
        return link_to(obj.phone)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["phone", "channels", "basis", "evidence_ref", "granted_at", "expires_at"]
        can_withdraw = obj.withdrawn_at is None and self.has_change_permission(request, obj)
        return self._shown + (["withdraw_via", "withdraw_channels"] if can_withdraw else [])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self._shown) if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Consent, form: Any, change: bool) -> None:
        if not change:
            data = form.cleaned_data
            consent = consent_grant(
                phone=data["phone"], channels=data["channels"], basis=data["basis"], evidence_ref=data["evidence_ref"],
                granted_at=data["granted_at"], expires_at=data.get("expires_at"), actor=request.user,
            )
            adopt(obj, consent)
            return
        via = form.cleaned_data.get("withdraw_via")
        if via:
            consent = consent_withdraw(
                consent=obj, via=via, actor=request.user, channels=tuple(form.cleaned_data.get("withdraw_channels")
                                                                          or ()),
            )
            adopt(obj, consent)
