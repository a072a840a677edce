"""What the desk shows for the codes it stores, in the reader's language: history change reasons, complaint routing
rules and escalations, what a personal-data reveal read and why, consents' channels and states, a loan's
days-past-due bucket.

The stored values stay codes (the history, the audit trail and the API speak them, and a translation must never
change what was recorded); pages and the admin show them through these functions. A value none of them knows is
shown as stored: a policy version's change note, say, is typed by its author.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from consent_app.models import Borrower, Consent, WithdrawalChannel

from .loans.buckets import CURRENT
from .models import (
    ApprovalLevel,
    AttemptOutcome,
    ComplaintState,
    InstallmentState,
    PlanState,
    PromiseState,
    TemplateVersionState,
)

# The reason the call page gives when it reveals the number it dials (desk.views.attempt_detail).
DIAL_REVEAL_REASON = "dial"

# --- History change reasons -------------------------------------------------------------------------------------

# Fixed reasons the services, the admin and the demo write (consent_app.history.with_change_reason).
CHANGE_REASONS: dict[str, Any] = {
    "created": gettext_lazy("created"),
    "changed": gettext_lazy("changed"),
    "updated": gettext_lazy("updated"),
    "assigned": gettext_lazy("assigned"),
    "recorded": gettext_lazy("recorded"),
    "scheduled": gettext_lazy("scheduled"),
    "proposed": gettext_lazy("proposed"),
    "allocated": gettext_lazy("allocated"),
    "added": gettext_lazy("added"),
    "started": gettext_lazy("call started"),
    "opened": gettext_lazy("opened"),
    "placed": gettext_lazy("placed"),
    "lifted": gettext_lazy("lifted"),
    "granted": gettext_lazy("granted"),
    "api": gettext_lazy("from the loan system"),
    "number added": gettext_lazy("number added"),
    "third party saved": gettext_lazy("third party saved"),
    "status changed": gettext_lazy("status changed"),
    "time zone changed": gettext_lazy("time zone changed"),
    "inbound call taken": gettext_lazy("inbound call taken"),
    "reported by the dialer": gettext_lazy("reported by the dialer"),
    "closed automatically: no outcome recorded in time": gettext_lazy(
        "closed automatically: no outcome recorded in time"),
    "collection hold placed": gettext_lazy("collection hold placed"),
    "changed in admin": gettext_lazy("changed in admin"),
    "added in admin": gettext_lazy("added in admin"),
    "reassigned in admin": gettext_lazy("reassigned in admin"),
    "reassigned by supervisor": gettext_lazy("reassigned by supervisor"),
    "demo seed": gettext_lazy("demo data"),
    # Why a plan, promise or installment changed state (plans.states.transition's reason).
    "superseded by a new promise": gettext_lazy("superseded by a new promise"),
    "withdrawn": gettext_lazy("withdrawn"),
    "within the collector's limits": gettext_lazy("within the collector's limits"),
    "plan declined": gettext_lazy("plan declined"),
    "plan cancelled": gettext_lazy("plan cancelled"),
    "loan paid off": gettext_lazy("loan paid off"),
    "unpaid after the grace days": gettext_lazy("unpaid after the grace days"),
}

STATES: dict[str, Any] = {
    **dict(ComplaintState.choices), **dict(InstallmentState.choices), **dict(PromiseState.choices),
    **dict(PlanState.choices), **dict(TemplateVersionState.choices),
}

ESCALATIONS: dict[str, Any] = {
    "acknowledgement_overdue": gettext_lazy("not acknowledged in time"),
    "resolution_overdue": gettext_lazy("not resolved in time"),
}


def _state(code: str) -> str:
    return str(STATES.get(code, code))


def _channels(codes: str) -> str:
    return channel_names([code.strip() for code in codes.split(",")])


def _transition(match: re.Match[str]) -> str:
    moved = _("%(from)s → %(to)s") % {"from": _state(match["from"]), "to": _state(match["to"])}
    return _("%(move)s: %(why)s") % {"move": moved, "why": change_reason_label(match["why"])} if match["why"] \
        else moved


# Reasons with a value in them, tried in order on what no fixed reason matched.
_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?P<from>[a-z_]+) (?:→|->) (?P<to>[a-z_]+)(?:: (?P<why>.+))?"), _transition),
    (re.compile(r"payment (?P<ref>\S+)"), lambda m: _("payment %(ref)s") % {"ref": m["ref"]}),
    (re.compile(r"partly paid by payment (?P<ref>\S+)"),
     lambda m: _("partly paid by payment %(ref)s") % {"ref": m["ref"]}),
    (re.compile(r"routed to (?P<level>[a-z_]+)"), lambda m: _("sent for approval to %(level)s") % {
        "level": str(dict(ApprovalLevel.choices).get(m["level"], m["level"]))}),
    (re.compile(r"approved by (?P<user>\S+)"), lambda m: _("approved by %(user)s") % {"user": m["user"]}),
    (re.compile(r"declined by (?P<user>\S+)"), lambda m: _("declined by %(user)s") % {"user": m["user"]}),
    (re.compile(r"unpaid (?P<days>\d+) days after the promised date"),
     lambda m: _("unpaid %(days)s days after the promised date") % {"days": m["days"]}),
    (re.compile(r"outcome (?P<code>[a-z_]+)"), lambda m: _("outcome: %(outcome)s") % {
        "outcome": str(dict(AttemptOutcome.choices).get(m["code"], m["code"]))}),
    (re.compile(r"withdrawn via (?P<via>[a-z_]+)"), lambda m: _("withdrawn (%(via)s)") % {
        "via": str(dict(WithdrawalChannel.choices).get(m["via"], m["via"]))}),
    (re.compile(r"kept (?P<channels>[a-z_, ]+) after partial withdrawal of consent #(?P<pk>\d+)"),
     lambda m: _("%(channels)s kept after the partial withdrawal of consent #%(id)s") % {
         "channels": _channels(m["channels"]), "id": m["pk"]}),
    (re.compile(r"escalated: (?P<why>[a-z_]+)"), lambda m: _("escalated to compliance: %(why)s") % {
        "why": str(ESCALATIONS.get(m["why"], m["why"]))}),
    (re.compile(r"csv import (?P<run>\S+)"), lambda m: _("CSV import %(run)s") % {"run": m["run"]}),
]


def change_reason_label(reason: str | None) -> str:
    """A history row's change reason in the reader's language: `pending_approval → active: approved by sup1`
    reads 待审批 → 生效：由 sup1 批准. What no rule knows (a policy version's typed change note) is shown as it is."""
    text = (reason or "").strip()
    if text in CHANGE_REASONS:
        return str(CHANGE_REASONS[text])
    for pattern, label in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            return label(match)
    return text


# --- Complaints ---------------------------------------------------------------------------------------------------

# Why a complaint went to its queue (complaints.services.complaint_route).
ROUTING_RULES: dict[str, Any] = {
    "category": gettext_lazy("its category goes to compliance"),
    "channel": gettext_lazy("it came in through a channel compliance handles"),
    "no_supervisor": gettext_lazy("no supervisor is responsible for it"),
    "conflict_of_interest": gettext_lazy("it names the supervisor who would review it"),
    "named_collector": gettext_lazy("the supervisor of the collector it names"),
    "assigned_collector": gettext_lazy("the supervisor of the account's collector"),
}


def routing_rule_label(rule: str) -> str:
    return str(ROUTING_RULES.get(rule, rule))


def escalation_label(reason: str) -> str:
    return str(ESCALATIONS.get(reason, reason))


# --- Personal-data reveals ----------------------------------------------------------------------------------------

_REVEALED_PAGES: dict[str, Any] = {
    "e164": gettext_lazy("full number"),
    "third_party_admin_view": gettext_lazy("third party's page in admin"),
    "third_party.full_name": gettext_lazy("third party's full name"),
    "complaint_admin_view": gettext_lazy("complaint's page in admin"),
}


def revealed_field_label(field: str) -> str:
    """What a reveal read: `e164` is the full number, `national_id` the borrower's national id (its field's
    name), `…_history` an older version of that page."""
    if field.endswith("_history"):
        return _("%(what)s (an earlier version)") % {"what": revealed_field_label(field[: -len("_history")])}
    if field in _REVEALED_PAGES:
        return str(_REVEALED_PAGES[field])
    try:
        found = Borrower._meta.get_field(field)
    except FieldDoesNotExist:  # an unknown field is shown as recorded
        return field
    return str(getattr(found, "verbose_name", field))


def reveal_reason_label(reason: str) -> str:
    """Why a number was revealed: what the reader typed, or, for the number the call page dials, that."""
    return _("to dial it from the call page") if reason == DIAL_REVEAL_REASON else reason


# --- Consents ------------------------------------------------------------------------------------------------------

CHANNELS: dict[str, Any] = {"call": gettext_lazy("calls"), "sms": gettext_lazy("SMS")}

# A consent's state at an instant (consent_app.models.Consent.state_at).
CONSENT_STATES: dict[str, Any] = Consent.STATE_LABELS


def channel_names(channels: list[str] | tuple[str, ...]) -> str:
    """A consent's channels in words: 电话、短信 / calls, SMS."""
    return pgettext("list separator", ", ").join(str(CHANNELS.get(code, code)) for code in channels)


def consent_state_label(state: str) -> str:
    return str(CONSENT_STATES.get(state, state))


# --- Plans -------------------------------------------------------------------------------------------------------

# The approval limits a plan goes beyond (RepaymentPlan.exceeded_limits).
LIMITS: dict[str, Any] = {
    "installments": gettext_lazy("number of installments"),
    "discount": gettext_lazy("discount"),
    "first_payment_delay": gettext_lazy("days to the first payment"),
}


def exceeded_limits_label(codes: list[str] | None) -> str:
    return pgettext("list separator", ", ").join(str(LIMITS.get(code, code)) for code in codes or [])


# --- Loans ----------------------------------------------------------------------------------------------------------


def bucket_label(bucket: str) -> str:
    """A days-past-due bucket as the desk writes it: `31-60`, or "not past due" for a loan in none."""
    return _("not past due") if bucket == CURRENT else bucket


# --- Labels of fields declared without one ----------------------------------------------------------------------

# Fields whose label is their column's name (`created_at` reads "created at", in English whatever the language):
# the admin's columns, filters and forms show these instead. Given here, at start-up, not on the fields: a label is
# presentation, and declaring it on a field would change the migration state of every model that has one.
FIELD_LABELS: dict[str, Any] = {
    "created_at": gettext_lazy("created at"),
    "updated_at": gettext_lazy("updated at"),
    "created_by": gettext_lazy("created by"),
    "borrower": gettext_lazy("borrower"),
    "loan": gettext_lazy("loan"),
    "phone": gettext_lazy("phone number"),
    "third_party": gettext_lazy("third party"),
    "blind_index": gettext_lazy("search index"),
    "user": gettext_lazy("user"),
    "team": gettext_lazy("team"),
    "collector": gettext_lazy("collector"),
    "payment": gettext_lazy("payment"),
    "plan": gettext_lazy("repayment plan"),
    "installment": gettext_lazy("installment"),
    "policy": gettext_lazy("contact policy"),
    "policy_version": gettext_lazy("policy version"),
    "prefix": gettext_lazy("prefix"),
    "token_hash": gettext_lazy("token hash"),
    "last_used_at": gettext_lazy("last used at"),
    "revoked_at": gettext_lazy("revoked at"),
    "occurred_at": gettext_lazy("occurred at"),
    "actor": gettext_lazy("actor"),
    "actor_label": gettext_lazy("actor's name"),
    "action": gettext_lazy("action"),
    "subject_type": gettext_lazy("subject type"),
    "subject_id": gettext_lazy("subject id"),
    "data": gettext_lazy("event data"),
    "seq": gettext_lazy("position in the chain"),
    "prev_hash": gettext_lazy("previous hash"),
    "hash": gettext_lazy("hash"),
    "key_id": gettext_lazy("key id"),
    "sealed_at": gettext_lazy("sealed at"),
    "third_party_requires_authorization": gettext_lazy("third parties need authorization"),
    "third_party_only_when_borrower_unreachable": gettext_lazy("third parties only when the borrower is unreachable"),
    "unreachable_after_days": gettext_lazy("unreachable after (days)"),
    "unreachable_min_attempts": gettext_lazy("unreachable after (attempts)"),
    "third_party_max_contacts": gettext_lazy("most contacts per third party"),
    "third_party_stop_on_opt_out": gettext_lazy("stop when a third party opts out"),
}

_LABELLED_APPS = ("audit_app", "consent_app", "collections_app")


def label_fields() -> None:
    """Give every field of the desk's models declared without a label its label from FIELD_LABELS, and every
    model's history (django-simple-history's "historical …", English only) a translatable name. Called once, from
    CollectionsAppConfig.ready(); a label declared on a field (its `_verbose_name`) is left as it is."""
    for app_label in _LABELLED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            for field in model._meta.fields:
                if field._verbose_name is None and field.name in FIELD_LABELS:  # type: ignore[attr-defined]
                    field.verbose_name = FIELD_LABELS[field.name]
            original = getattr(model, "instance_type", None)  # a history model names the model it records
            if original is not None:
                model._meta.verbose_name = format_lazy(gettext_lazy("history of {}"), original._meta.verbose_name)
                model._meta.verbose_name_plural = format_lazy(gettext_lazy("history of {}"),
                                                              original._meta.verbose_name_plural)
