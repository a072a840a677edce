"""Admin for message templates, their versions and the forbidden phrases (compliance officers only; imported by
collections_app/admin.py).

A template's settings are edited on its page, with its versions listed; a version is written as a draft (its
content-rule findings shown), submitted for approval, and approved or rejected by a second compliance officer,
from the version's page or the list's actions. A published or rejected version is shown read-only. Every write goes
through collections_app.messaging.services.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from collections_app.forms import add_service_errors
from consent_app.admin.toolkit import ProtectedHistoryAdmin, ReadOnlyInline, adopt

from ..models import ForbiddenPhrase, MessageTemplate, MessageTemplateVersion, TemplateVersionState
from . import lint
from .labels import finding_label, rule_label
from .services import (
    forbidden_phrase_check,
    forbidden_phrase_save,
    lint_version,
    may_decide,
    message_template_check,
    message_template_save,
    template_version_approve,
    template_version_create,
    template_version_reject,
    template_version_submit,
    template_version_update,
)


def findings_list(codes: Any) -> SafeString | str:
    codes = [code for code in (codes or []) if isinstance(code, str)]
    if not codes:
        return str(_("passes every content rule"))
    return format_html_join(" · ", '<span data-code="{}">{}</span>', ((code, rule_label(code)) for code in codes))


def variables_help() -> SafeString:
    return format_html_join(", ", "<code>{{{}}}</code>", ((name,) for name in lint.VARIABLES))


# --- Templates -----------------------------------------------------------------------------------------------------


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["code", "channel", "jurisdiction", "language", "third_party_safe", "valid_for_hours"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.instance.pk is not None and not self.errors:
            try:
                message_template_check(template=self.instance, changed=self.changed_data)
            except ValidationError as exc:
                add_service_errors(self, exc)
        return cleaned


class VersionInline(ReadOnlyInline):
    model = MessageTemplateVersion
    fields = readonly_fields = ("number", "state", "author", "approver", "findings_label", "submitted_at",
                                "decided_at")
    ordering = ("-number",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("author", "approver")

    @admin.display(description=_("content rules"))
    def findings_label(self, obj: MessageTemplateVersion) -> SafeString | str:
        return findings_list(obj.lint_codes)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ProtectedHistoryAdmin):
    form = MessageTemplateForm
    list_display = ("code", "channel", "jurisdiction", "language", "third_party_safe", "valid_for_hours",
                    "published_label", "latest_label")
    list_filter = ("channel", "jurisdiction", "third_party_safe")
    search_fields = ("code",)
    inlines = (VersionInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        versions = MessageTemplateVersion.objects.filter(template=OuterRef("pk"))
        # Both in the changelist's one query: the published version's number, and the newest version's state.
        return super().get_queryset(request).annotate(
            published_number=Subquery(versions.filter(state=TemplateVersionState.APPROVED)
                                      .order_by("-number").values("number")[:1]),
            latest_state=Subquery(versions.order_by("-number").values("state")[:1]),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("new_version_link",) if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(MessageTemplateForm.Meta.fields)
        return [*fields, "new_version_link"] if obj is not None else fields

    @admin.display(description=_("published version"), ordering="published_number")
    def published_label(self, obj: Any) -> str:
        number = getattr(obj, "published_number", None)
        return str(number) if number is not None else str(_("none"))

    @admin.display(description=_("newest version"))
    def latest_label(self, obj: Any) -> str:
        state = getattr(obj, "latest_state", None)
        return str(TemplateVersionState(state).label) if state in TemplateVersionState.values else str(_("none"))

    @admin.display(description=_("new version"))
    def new_version_link(self, obj: MessageTemplate) -> SafeString | str:
        if obj.pk is None:
            return ""
        url = reverse("admin:collections_app_messagetemplateversion_add") + f"?template={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Write a new version"))

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        message_template_save(template=obj, changed=form.changed_data, actor=request.user)


# --- Versions ------------------------------------------------------------------------------------------------------


class VersionAddForm(forms.ModelForm):
    class Meta:
        model = MessageTemplateVersion
        fields = ["template", "body"]


class VersionChangeForm(forms.ModelForm):
    class Meta:
        model = MessageTemplateVersion
        fields = ["body"]


class RejectForm(forms.Form):
    comment = forms.CharField(label=_("Why is it rejected?"), widget=forms.Textarea(attrs={"rows": 4}),
                              max_length=2000)


@admin.register(MessageTemplateVersion)
class MessageTemplateVersionAdmin(ProtectedHistoryAdmin):
    form = VersionChangeForm
    add_form = VersionAddForm
    change_form_template = "collections_app/messaging/admin/version_change_form.html"
    list_display = ("template", "number", "state", "author", "approver", "findings_label", "submitted_at",
                    "decided_at")
    list_filter = ("state", "template__channel", "template__jurisdiction")
    list_select_related = ("template", "author", "approver")
    search_fields = ("template__code",)
    actions = ("submit_selected", "approve_selected")
    readonly_fields = ("template", "number", "state", "author", "approver", "findings_label", "variables_label",
                       "decision_comment", "created_at", "submitted_at", "decided_at")

    @admin.display(description=_("content rules"))
    def findings_label(self, obj: MessageTemplateVersion) -> SafeString | str:
        return findings_list(obj.lint_codes)

    @admin.display(description=_("variables"))
    def variables_label(self, obj: Any = None) -> SafeString:
        return variables_help()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A version submitted, published or rejected is read-only: only a draft's text is edited.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.state == TemplateVersionState.DRAFT)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["template", "body", "variables_label"]
        return ["template", "number", "state", "body", "variables_label", "findings_label", "author", "approver",
                "decision_comment", "created_at", "submitted_at", "decided_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("variables_label",) if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        template_id = request.GET.get("template", "")
        latest = (MessageTemplateVersion.objects.filter(template_id=int(template_id)).order_by("-number").first()
                  if template_id.isdigit() else None)
        if latest is not None:
            initial["body"] = latest.body  # copy the newest version's text and edit it
        return initial

    def save_model(self, request: HttpRequest, obj: MessageTemplateVersion, form: Any, change: bool) -> None:
        if change:
            saved = template_version_update(version=obj, body=form.cleaned_data["body"], actor=request.user)
        else:
            saved = template_version_create(template=form.cleaned_data["template"], body=form.cleaned_data["body"],
                                            actor=request.user)
        adopt(obj, saved)
        findings = lint_version(saved) if saved.lint_codes else []
        if findings:
            # Which variable or phrase broke each rule: the author sees what to change.
            self.message_user(request, _("Saved as a draft. It breaks content rules and cannot be submitted until "
                                         "they pass: %(rules)s") % {"rules": "; ".join(map(finding_label, findings))},
                              messages.WARNING)

    # The buttons of a version's page: submit, approve, reject (with a comment).

    def get_urls(self) -> list:
        def view(name: str, func: Any) -> Any:
            return path(f"<path:object_id>/{name}/", self.admin_site.admin_view(func),
                        name=f"collections_app_messagetemplateversion_{name}")

        return [view("submit", self.submit_view), view("approve", self.approve_view),
                view("reject", self.reject_view), *super().get_urls()]

    def _version_or_404(self, request: HttpRequest, object_id: str) -> MessageTemplateVersion:
        obj = self._check_in_scope(request, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj  # type: ignore[return-value]

    def _change_url(self, obj: MessageTemplateVersion) -> str:
        return reverse("admin:collections_app_messagetemplateversion_change", args=[obj.pk])

    def _run(self, request: HttpRequest, obj: MessageTemplateVersion, func: Any, done: Any, **kwargs: Any) -> bool:
        try:
            func(version=obj, actor=request.user, **kwargs)
        except PermissionDenied as exc:
            self.message_user(request, str(exc) or _("You may not do this."), messages.ERROR)
            return False
        except ValidationError as exc:
            self.message_user(request, _("%(version)s: %(errors)s") % {
                "version": obj, "errors": " ".join(exc.messages)}, messages.ERROR)
            return False
        self.message_user(request, done % {"version": obj}, messages.SUCCESS)
        return True

    def submit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            raise Http404
        obj = self._version_or_404(request, object_id)
        self._run(request, obj, template_version_submit, _("%(version)s was submitted for approval."))
        return HttpResponseRedirect(self._change_url(obj))

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            raise Http404
        obj = self._version_or_404(request, object_id)
        self._run(request, obj, template_version_approve, _("%(version)s was approved and is published."))
        return HttpResponseRedirect(self._change_url(obj))

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._version_or_404(request, object_id)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and self._run(
            request, obj, template_version_reject, _("%(version)s was rejected."), comment=form.cleaned_data["comment"]
        ):
            return HttpResponseRedirect(self._change_url(obj))
        context = {**self.admin_site.each_context(request), "title": _("Reject %(version)s") % {"version": obj},
                   "form": form, "version": obj, "opts": self.model._meta}
        return TemplateResponse(request, "collections_app/messaging/admin/reject.html", context,
                                status=422 if form.is_bound else 200)

    def render_change_form(self, request: HttpRequest, context: dict, add: bool = False, change: bool = False,
                           form_url: str = "", obj: Any = None) -> HttpResponse:
        if obj is not None:
            context.update({
                "may_submit": obj.state == TemplateVersionState.DRAFT and self.has_change_permission(request, obj),
                "may_decide": may_decide(version=obj, actor=request.user),
            })
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(description=_("Submit the selected drafts for approval"), permissions=["change"])
    def submit_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset.select_related("template"):
            self._run(request, obj, template_version_submit, _("%(version)s was submitted for approval."))

    @admin.action(description=_("Approve (publish) the selected versions"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset.select_related("template"):
            self._run(request, obj, template_version_approve, _("%(version)s was approved and is published."))


# --- Forbidden phrases ---------------------------------------------------------------------------------------------


class ForbiddenPhraseForm(forms.ModelForm):
    rule_code = forms.ChoiceField(label=_("content rule"), choices=())

    class Meta:
        model = ForbiddenPhrase
        fields = ["jurisdiction", "phrase", "rule_code", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = cast(forms.ChoiceField, self.fields["rule_code"])
        rules.choices = [(code, rule_label(code)) for code in lint.PHRASE_RULES]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.errors:
            try:
                forbidden_phrase_check(phrase=ForbiddenPhrase(
                    jurisdiction=cleaned.get("jurisdiction", ""), phrase=cleaned.get("phrase", ""),
                    rule_code=cleaned.get("rule_code", "")))
            except ValidationError as exc:
                add_service_errors(self, exc)
        return cleaned


class RuleFilter(admin.SimpleListFilter):
    title = _("content rule")
    parameter_name = "rule"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, rule_label(code)) for code in lint.PHRASE_RULES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(rule_code=self.value()) if self.value() else queryset


@admin.register(ForbiddenPhrase)
class ForbiddenPhraseAdmin(ProtectedHistoryAdmin):
    form = ForbiddenPhraseForm
    list_display = ("phrase", "jurisdiction", "rule_label", "note")
    list_filter = ("jurisdiction", RuleFilter)
    search_fields = ("phrase", "note")

    @admin.display(description=_("content rule"), ordering="rule_code")
    def rule_label(self, obj: ForbiddenPhrase) -> str:
        return rule_label(obj.rule_code)

    def save_model(self, request: HttpRequest, obj: ForbiddenPhrase, form: Any, change: bool) -> None:
        forbidden_phrase_save(phrase=obj, changed=form.changed_data, actor=request.user)
