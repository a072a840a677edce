"""List filters of the consent admin. States and "in force" come from the models' own rules
(`Consent.objects.in_state`, `Restriction.objects.in_force`), never re-implemented here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import (
    Borrower,
    RestrictionQuerySet,
)
from ..validators import place_zones

# --- List filters ------------------------------------------------------------------------------------------------


class JurisdictionFilter(admin.SimpleListFilter):
    title = _("jurisdiction")
    parameter_name = "jurisdiction"
    borrower_path = "borrower__jurisdiction"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return Borrower._meta.get_field("jurisdiction").choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.borrower_path: self.value()}) if self.value() else queryset


class ConsentJurisdictionFilter(JurisdictionFilter):
    borrower_path = "phone__borrower__jurisdiction"


class PhoneOwnerFilter(admin.SimpleListFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("debtor", _("Borrower")), ("third_party", _("Third party")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "debtor":
            return queryset.filter(third_party__isnull=True)
        if self.value() == "third_party":
            return queryset.filter(third_party__isnull=False)
        return queryset


class ConsentChannelFilter(admin.SimpleListFilter):
    title = _("channels")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("call", _("Calls")), ("sms", _("SMS")), ("both", _("Calls and SMS")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "call":
            return queryset.filter(allows_call=True)
        if self.value() == "sms":
            return queryset.filter(allows_sms=True)
        if self.value() == "both":
            return queryset.filter(allows_call=True, allows_sms=True)
        return queryset


class ConsentStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("active", _("Active")), ("withdrawn", _("Withdrawn")), ("expired", _("Expired")),
                ("pending", _("Not yet in force")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("active", "withdrawn", "expired", "pending"):
            return queryset.in_state(self.value())  # type: ignore[attr-defined]
        return queryset


class LiftedFilter(admin.SimpleListFilter):
    title = _("lifted")
    parameter_name = "lifted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("no", _("Not lifted")), ("yes", _("Lifted")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "no":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class RestrictionInForceFilter(admin.SimpleListFilter):
    title = _("in force now")
    parameter_name = "in_force"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(RestrictionQuerySet.in_force_q())
        if self.value() == "no":
            return queryset.exclude(RestrictionQuerySet.in_force_q())
        return queryset


class ZoneNeedsReviewFilter(admin.SimpleListFilter):
    """Borrowers whose stored zone would not be stored as it is today: one that is not a place (UTC, Etc/GMT+8,
    EST5EDT), unknown to the installed tz database, or a legacy name not yet rewritten. Compliance corrects
    them: until then the policy judges the hours on such a zone as it is, or skips an unknown one."""

    title = _("time zone")
    parameter_name = "zone"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("review", _("Zone needs review")),)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "review":
            return queryset.exclude(timezone="").exclude(timezone__in=sorted(place_zones()))
        return queryset
