"""Consents in admin: granted and withdrawn through the services (PIPL art. 15: withdrawal never deletes). A
withdrawal, on the consent's page or by the list's action, asks how the borrower asked, which channels, the
evidence reference and an explicit confirmation; its audit event carries them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from consent_app.validators import is_in_future

from ..models import (
    Consent,
    WithdrawalChannel,
)
from ..services import (
    EVIDENCE_REF_MAX_LENGTH,
    consent_grant,
    consent_withdraw,
    validate_evidence_reference,
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


CHANNEL_CHOICES = (("call", _("Calls")), ("sms", _("SMS")))
VIA_CHOICES = [(v, label) for v, label in WithdrawalChannel.choices if v in ADMIN_WITHDRAWAL_CHANNELS]
CONFIRM_LABEL = _("I confirm the borrower withdrew consent for these channels")
EVIDENCE_HELP = _("The letter's, recording's or ticket's reference, e.g. LETTER-2026-0042.")


class WithdrawalForm(forms.Form):
    """A withdrawal as a compliance officer records it with the list's action: how the borrower asked, which
    channels they withdrew, the reference of what proves it, and an explicit confirmation. Every one is required: a
    withdrawal missing one is refused and withdraws nothing."""

    via = forms.ChoiceField(label=_("asked via"), choices=[("", "---------"), *VIA_CHOICES])
    channels = forms.MultipleChoiceField(label=_("channels withdrawn"), widget=forms.CheckboxSelectMultiple,
                                         choices=CHANNEL_CHOICES)
    evidence_ref = forms.CharField(label=_("evidence reference"), max_length=EVIDENCE_REF_MAX_LENGTH,
                                   validators=[validate_evidence_reference], help_text=EVIDENCE_HELP)
    confirm = forms.BooleanField(label=CONFIRM_LABEL,
                                 help_text=_("Withdrawal cannot be undone: contact needs a new consent afterwards."))


class ConsentWithdrawForm(forms.ModelForm):
    """The consent page: read-only but for a withdrawal. Leaving the four withdrawal fields empty keeps the
    consent; filling any of them asks for all four, as the list's action does."""

    withdraw_via = forms.ChoiceField(label=_("withdraw now, asked via"), required=False,
                                     choices=[("", "---------"), *VIA_CHOICES])
    withdraw_channels = forms.MultipleChoiceField(
        label=_("channels withdrawn"), required=False, widget=forms.CheckboxSelectMultiple, choices=CHANNEL_CHOICES,
    )
    withdraw_evidence_ref = forms.CharField(
        label=_("evidence reference"), required=False, max_length=EVIDENCE_REF_MAX_LENGTH,
        validators=[validate_evidence_reference], help_text=EVIDENCE_HELP,
    )
    withdraw_confirm = forms.BooleanField(
        label=CONFIRM_LABEL, required=False,
        help_text=_("Leave all four empty to keep the consent. Withdrawal cannot be undone (a new consent is "
                    "granted)."),
    )

    WITHDRAWAL_FIELDS = ("withdraw_via", "withdraw_channels", "withdraw_evidence_ref", "withdraw_confirm")

    class Meta:
        model = Consent
        fields: tuple[str, ...] = ()

    @property
    def withdrawing(self) -> bool:
        return any(self.cleaned_data.get(name) for name in self.WITHDRAWAL_FIELDS)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not self.withdrawing and not any(name in self.errors for name in self.WITHDRAWAL_FIELDS):
            return data
        required = {
            "withdraw_via": _("Say how the borrower asked."),
            "withdraw_channels": _("Tick the channels the borrower withdrew."),
            "withdraw_evidence_ref": _("Give the reference of what proves the request."),
            "withdraw_confirm": _("Confirm the withdrawal."),
        }
        for name, message in required.items():
            if not data.get(name) and name not in self.errors:
                self.add_error(name, message)
        unknown = set(data.get("withdraw_channels") or ()) - set(self.instance.channels)
        if unknown:
            self.add_error("withdraw_channels", _("This consent does not cover: %s.") % ", ".join(sorted(unknown)))
        return data


def withdraw_consents(*, consents: list[Consent], data: dict[str, Any], actor: Any) -> tuple[int, int]:
    """The action's withdrawals, all in one transaction: each consent for those of the chosen channels it
    covers. Returns (withdrawn, skipped): a consent covering none of them is left as it is."""
    withdrawn = skipped = 0
    with transaction.atomic():
        for consent in consents:
            channels = tuple(c for c in data["channels"] if c in consent.channels)
            if not channels:
                skipped += 1
                continue
            consent_withdraw(consent=consent, via=data["via"], channels=channels, evidence_ref=data["evidence_ref"],
                             actor=actor)
            withdrawn += 1
    return withdrawn, skipped


@admin.register(Consent)
class ConsentAdmin(PhoneSearchMixin, ProtectedHistoryAdmin):
    list_display = ("id", "masked_number", "borrower_link", "channels_label", "state_label", "basis", "granted_at",
                    "expires_at", "withdrawn_at", "withdrawn_via")
    list_filter = (ConsentStateFilter, ConsentChannelFilter, "basis", "withdrawn_via", ConsentJurisdictionFilter)
    list_select_related = ("phone", "phone__borrower")
    search_fields = ("phone__borrower__borrower_ref", "evidence_ref")
    date_hierarchy = "granted_at"
    autocomplete_fields = ("phone",)
    actions = ("withdraw_selected",)

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
        return obj.channel_labels

    @admin.display(description=_("state"))
    def state_label(self, obj: Consent) -> str:
        state = obj.state_at()
        return str(Consent.STATE_LABELS.get(state, state))

    form = ConsentWithdrawForm
    add_form = ConsentGrantForm

    _shown = ["phone_link", "channels_label", "state_label", "basis", "evidence_ref", "granted_at", "expires_at",
              "withdrawn_at", "withdrawn_via", "created_at"]

    @admin.display(description=_("number"))
    def phone_link(self, obj: Consent) -> str:
        return link_to(obj.phone)

    @admin.action(description=_("Withdraw selected consents…"), permissions=["change"])
    def withdraw_selected(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """A page asking how the borrower asked, the channels, the evidence reference and a confirmation; only
        with all four does it withdraw (through consent_withdraw, one audit event each), else nothing."""
        consents = list(queryset.filter(withdrawn_at__isnull=True).select_related("phone", "phone__borrower"))
        if not consents:
            self.message_user(request, _("None of the selected consents is in force."), messages.WARNING)
            return None
        form = WithdrawalForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            withdrawn, skipped = withdraw_consents(consents=consents, data=form.cleaned_data, actor=request.user)
            self.message_user(request, _("%(n)d consent(s) withdrawn.") % {"n": withdrawn}, messages.SUCCESS)
            if skipped:
                self.message_user(request, _("%(n)d consent(s) left as they are: they cover none of the channels "
                                             "withdrawn.") % {"n": skipped}, messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request), "title": _("Withdraw consents"), "opts": self.model._meta,
            "form": form, "consents": consents, "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "consent_app/admin/consent_withdraw.html", context,
                                status=422 if form.is_bound else 200)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["phone", "channels", "basis", "evidence_ref", "granted_at", "expires_at"]
        can_withdraw = obj.withdrawn_at is None and self.has_change_permission(request, obj)
        return self._shown + (list(ConsentWithdrawForm.WITHDRAWAL_FIELDS) if can_withdraw else [])

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
        if form.withdrawing:  # the form saw to it that all four were given
            data = form.cleaned_data
            consent = consent_withdraw(
                consent=obj, via=data["withdraw_via"], channels=tuple(data["withdraw_channels"]),
                evidence_ref=data["withdraw_evidence_ref"], actor=request.user,
            )
            adopt(obj, consent)
