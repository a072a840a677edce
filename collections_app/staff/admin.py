"""The user admin (superusers): Django's, with deactivation through user_deactivate (sessions ended, API tokens
revoked, refused while active loans are assigned, with a link to reassign them), a reset of the second factor, and
the user's own time zone (their StaffProfile, set through staff_profile_set_time_zone).

django-otp's device admins are removed: they would list every device without a scope and show the secret keys.
A lost authenticator is handled by the reset action here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent_app.admin.toolkit import ReaderTimesMixin, ScopedAdminMixin, admin_change_log

from ..models import LoanStatus, StaffProfile
from .selectors import loans_blocking_deactivation
from .services import deactivation_refusal, second_factor_reset, staff_profile_set_time_zone, user_deactivate

User = get_user_model()

for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


def reassign_link(user: Any, count: int) -> SafeString:
    """The refusal to deactivate `user`, with a link to their active loans in the loan admin (its reassign
    action moves them to another collector)."""
    url = reverse("admin:collections_app_loan_changelist") + f"?collector={user.pk}&status__exact={LoanStatus.ACTIVE}"
    return format_html('{} <a href="{}">{}</a>', deactivation_refusal(user, count), url, _("Reassign the loans"))


class StaffUserChangeForm(UserChangeForm):
    def clean_is_active(self) -> bool:
        is_active = bool(self.cleaned_data.get("is_active"))
        # self.instance still holds the stored values here (the form is copied onto it after cleaning).
        if not is_active and self.instance.pk is not None and self.instance.is_active:
            count = loans_blocking_deactivation(self.instance).count()
            if count:
                raise ValidationError(reassign_link(self.instance, count))
        return is_active


if admin.site.is_registered(User):
    admin.site.unregister(User)


class StaffProfileInline(ScopedAdminMixin, admin.StackedInline):
    """The clock the user reads the desk and the admin on (empty: their team's). Saved through
    staff_profile_set_time_zone, audited (see StaffUserAdmin.save_formset)."""

    model = StaffProfile
    fields = ("time_zone",)
    can_delete = False
    max_num = 1
    verbose_name_plural = gettext_lazy("own settings")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class StaffUserAdmin(ReaderTimesMixin, UserAdmin):
    form = StaffUserChangeForm
    actions = ["deactivate_users", "reset_second_factor"]
    inlines = (StaffProfileInline,)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not StaffProfile:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # what the admin's change message reads (new_objects, changed_objects)
        for profile_form in formset.forms:
            if profile_form.has_changed():
                staff_profile_set_time_zone(user=formset.instance, time_zone=profile_form.cleaned_data["time_zone"],
                                            actor=request.user)
        return None

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # user_deactivate clears it, with the sessions, the tokens and its audit event
        super().save_model(request, obj, form, change)
        admin_change_log(request=request, obj=obj, op="changed" if change else "added", fields=form.changed_data)
        if deactivating:
            user_deactivate(user=obj, actor=request.user)
            obj.is_active = False

    @admin.action(description=gettext_lazy("Deactivate selected users (ends their sessions, revokes their API tokens)"),
                  permissions=["change"])
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for user in queryset.filter(is_active=True).order_by("username"):
            try:
                user_deactivate(user=user, actor=request.user)
            except ValidationError:
                messages.error(request, reassign_link(user, loans_blocking_deactivation(user).count()))
                continue
            done += 1
        if done:
            messages.success(request, ngettext("%(count)d user deactivated.", "%(count)d users deactivated.", done)
                             % {"count": done})

    @admin.action(description=gettext_lazy("Reset second factor (the user sets it up again at the next sign-in)"),
                  permissions=["change"])
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = list(queryset.order_by("username"))
        for user in users:
            second_factor_reset(user=user, actor=request.user)
        messages.success(request, ngettext("Second factor reset for %(count)d user.",
                                           "Second factor reset for %(count)d users.", len(users))
                         % {"count": len(users)})
