"""Every registered admin × every role × every admin view, next to the desk's matrix (desk/test_permission_matrix.py).

The admins are read from `admin.site._registry` when the module is collected, so an admin registered tomorrow is in
the matrix without anyone editing this file: the strict default of `RIGHTS` (superusers only) and the row check
(`test_every_registered_admin_has_rows_in_the_world`) then fail until someone says who may use it and gives it a row
of each team. What is checked, per admin:

- changelist: the status the role should get, and the rows listed are exactly the model's scope
  (`consent_app.scopes.visible_to`; for complaints also `complaints_reviewable_by`) and, independently of the scope
  code, every row built for team A and none built for team B (supervisors), every row (compliance, superusers);
- change, history and (django-simple-history) version pages of a row of the own team, of the other team and of a
  shared borrower: the other team's is a 403/404 or "does not exist"; the own team's opens with the change rights
  the role has;
- a change POST, a history "revert" POST, the add page and an add POST, the delete page and a delete POST, for the
  roles that must not do them: refused, and the database unchanged;
- every action of the admin (`_get_base_actions`, the site's delete_selected included): offered exactly to the roles
  with its rights; POSTed by a supervisor for the other team's row it changes nothing and says so;
- the autocomplete endpoint of every searchable admin and the number search of every PhoneSearchMixin admin: the
  same rows as the scope.

Every response to a role that may not see team B (or, for staff without a role and users who cannot use the admin,
any team) must not contain that team's personal data or references (`World.markers`: names, national ids, numbers,
references, free texts, usernames, the team's name).

Not every cell is sent for every role (`_applies`): a write the role may rightly do is left to the areas' own tests;
users who cannot use the admin get each URL once (the admin's gate answers before the method or the row matter);
the roles that see every row get the row pages of the other team's row only; a superuser, where their rights equal
the compliance officer's, gets the changelist, the change page and the actions (the compliance officer's cells stand
for the rest: a superuser counts as compliance in every scope).

The world (two teams, each with a collector, a supervisor, a borrower with a loan, and a row of every team-scoped
model; a borrower shared by both teams; one row of every other model) is built once for the module, inside a
transaction that is rolled back at its end; each test runs in a savepoint of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from audit_app.models import AuditAction, AuditEvent
from audit_app.services import audit_log
from collections_app.api.auth import api_token_create
from collections_app.complaints.services import complaint_open
from collections_app.contact.services import policy_version_create, policy_version_data
from collections_app.incidents.services import incident_pause_start
from collections_app.loans.services import payment_record
from collections_app.messaging.services import message_template_save, template_version_create
from collections_app.models import (
    Allocation,
    ApprovalLimit,
    Complaint,
    ContactAttempt,
    ContactPolicy,
    ContactPolicyVersion,
    ForbiddenPhrase,
    MessageTemplate,
    PublicHoliday,
    TeamMember,
)
from collections_app.permissions import COMPLIANCE, SUPERVISOR, complaints_reviewable_by
from collections_app.plans.services import plan_propose, promise_create
from consent_app import scopes
from consent_app.admin.toolkit import NUMBER_SEARCH_MARK, PhoneSearchMixin, ScopedAdminMixin
from consent_app.models import InconvenientTime, Restriction
from tests import factories as f
from tests import second_factor

User = get_user_model()

# --- Roles -------------------------------------------------------------------------------------------------------

# Cannot use the admin at all: sent to the admin's sign-in page from every admin URL.
NO_ADMIN = ("collector", "integration", "inactive_compliance")
# Team-bound: sees team A's rows (and the shared borrower's), never team B's.
SUPERVISOR_ROLE = "supervisor"
# See every row.
ALL_SEEING = ("compliance", "superuser")
ROLES = (*NO_ADMIN, "staff", SUPERVISOR_ROLE, *ALL_SEEING)

S, C, SU = "supervisor", "compliance", "superuser"
SCS, CS, ONLY_SU, NOBODY = frozenset({S, C, SU}), frozenset({C, SU}), frozenset({SU}), frozenset()
KINDS = ("view", "change", "add", "delete")

# Who has which model right in the admin (the role groups' permissions as the migrations grant them, narrowed by the
# admins' own has_*_permission). "staff" (is_staff, no role) has none anywhere. An admin not listed here: superusers
# only, until someone decides otherwise.
RIGHTS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]] = {
    # label: (view, change, add, delete)
    "auth.group": (ONLY_SU, ONLY_SU, ONLY_SU, ONLY_SU),
    "auth.user": (ONLY_SU, ONLY_SU, ONLY_SU, ONLY_SU),
    "axes.accessattempt": (ONLY_SU, ONLY_SU, NOBODY, ONLY_SU),
    "axes.accesslog": (ONLY_SU, ONLY_SU, NOBODY, ONLY_SU),
    "axes.accessfailurelog": (ONLY_SU, ONLY_SU, NOBODY, ONLY_SU),
    "audit_app.auditevent": (CS, NOBODY, NOBODY, NOBODY),
    "consent_app.borrower": (SCS, CS, CS, NOBODY),
    "consent_app.thirdpartycontact": (SCS, CS, CS, NOBODY),
    "consent_app.phonenumber": (SCS, CS, CS, NOBODY),
    "consent_app.consent": (SCS, CS, CS, NOBODY),
    "consent_app.restriction": (SCS, SCS, SCS, NOBODY),
    "consent_app.inconvenienttime": (SCS, CS, CS, NOBODY),
    "collections_app.loan": (SCS, SCS, NOBODY, NOBODY),
    "collections_app.payment": (SCS, NOBODY, NOBODY, NOBODY),
    "collections_app.team": (SCS, CS, CS, NOBODY),
    "collections_app.teammember": (SCS, CS, CS, NOBODY),
    "collections_app.contactattempt": (SCS, NOBODY, NOBODY, NOBODY),
    "collections_app.promise": (SCS, NOBODY, NOBODY, NOBODY),
    "collections_app.repaymentplan": (SCS, NOBODY, NOBODY, NOBODY),
    "collections_app.allocation": (SCS, NOBODY, NOBODY, NOBODY),
    # The supervisor changes (moves) the complaints assigned to them in the supervisor queue: team A's is.
    "collections_app.complaint": (SCS, SCS, CS, NOBODY),
    "collections_app.apitoken": (CS, CS, NOBODY, NOBODY),
    "collections_app.approvallimit": (SCS, CS, CS, NOBODY),  # supervisors read the limits they decide within
    "collections_app.contactpolicy": (SCS, ONLY_SU, ONLY_SU, NOBODY),
    "collections_app.contactpolicyversion": (SCS, NOBODY, CS, NOBODY),
    "collections_app.publicholiday": (CS, CS, CS, ONLY_SU),
    # Message templates and their wording are compliance officers' alone (collectors and supervisors send them).
    "collections_app.messagetemplate": (CS, CS, CS, NOBODY),
    "collections_app.messagetemplateversion": (CS, CS, CS, NOBODY),
    "collections_app.forbiddenphrase": (CS, CS, CS, NOBODY),
    # Incident pauses: compliance officers start them (add) and lift them (their own page); nobody edits one.
    "collections_app.incidentpause": (CS, NOBODY, CS, NOBODY),
}
STRICT_DEFAULT = (ONLY_SU, ONLY_SU, ONLY_SU, ONLY_SU)


def has_right(label: str, role: str, kind: str) -> bool:
    return role in RIGHTS.get(label, STRICT_DEFAULT)[KINDS.index(kind)]


# --- Rows --------------------------------------------------------------------------------------------------------

# Models whose rows belong to a team: each has an "own" row (team A) and an "other" row (team B). The rest have one
# "shared" row (reference data, roles, sign-in records, tokens). Borrower-level models also have the shared
# borrower's row, which both teams see.
TEAM_SCOPED = {
    "auth.user", "audit_app.auditevent",
    "consent_app.borrower", "consent_app.thirdpartycontact", "consent_app.phonenumber", "consent_app.consent",
    "consent_app.restriction", "consent_app.inconvenienttime",
    "collections_app.loan", "collections_app.payment", "collections_app.team", "collections_app.teammember",
    "collections_app.contactattempt", "collections_app.promise", "collections_app.repaymentplan",
    "collections_app.allocation", "collections_app.complaint",
}
WITH_SHARED_ROW = {"consent_app.borrower", "consent_app.phonenumber", "consent_app.consent", "consent_app.restriction"}
TAG_OF = {"own": "a", "other": "b", "shared": "shared"}

REGISTRY = {model._meta.label_lower: (model, model_admin) for model, model_admin in admin.site._registry.items()}
LABELS = sorted(REGISTRY)


def row_tags(label: str) -> tuple[str, ...]:
    if label in TEAM_SCOPED or label not in RIGHTS:  # an unknown admin is treated as team-scoped: it needs rows
        return ("own", "other", "shared") if label in WITH_SHARED_ROW else ("own", "other")
    return ("shared",)


# Models whose scope is compliance officers' only (`permissions.compliance_only`): a supervisor who holds the view
# permission (approval limits) still sees no row.
COMPLIANCE_ONLY_SCOPE = {"auth.user", "collections_app.apitoken", "collections_app.approvallimit",
                         "collections_app.messagetemplate", "collections_app.messagetemplateversion",
                         "collections_app.forbiddenphrase", "collections_app.incidentpause"}


def sees_row(label: str, role: str, tag: str) -> bool:
    """Whether the role's scope holds the row (rights aside)."""
    if role in ALL_SEEING:
        return True
    return role == SUPERVISOR_ROLE and label not in COMPLIANCE_ONLY_SCOPE and tag in ("own", "shared")


class World:
    users: dict[str, Any]
    sessions: dict[str, str]  # role -> session key
    rows: dict[str, dict[str, list[Any]]]  # label -> tag -> rows (the first is the one the row views open)
    markers: dict[str, list[str]]  # team tag -> strings that must not reach whoever may not see that team's rows
    extra: dict[str, Any]

    def row(self, label: str, tag: str) -> Any:
        rows = self.rows.get(label, {}).get(TAG_OF[tag])
        if not rows:
            pytest.fail(f"The matrix world has no {tag!r} row of {label}: add one to _build_world (and describe the "
                        f"admin in RIGHTS / TEAM_SCOPED).")
        return rows[0]

    def tagged_pks(self, label: str, team: str) -> set[Any]:
        return {obj.pk for obj in self.rows.get(label, {}).get(team, [])}


def _build_world() -> World:
    w = World()
    now = timezone.now()
    today = timezone.localdate()
    sup_a, team_a = f.make_supervisor("supervisor_a", "Team Alpha")
    sup_b, team_b = f.make_supervisor("supervisor_b", "Team Bravo")
    col_a = f.make_collector("collector_a", team_a)
    col_b = f.make_collector("collector_b", team_b)
    compliance = f.make_compliance("compliance_officer")
    superuser = f.UserFactory(username="root_user", is_staff=True, is_superuser=True)
    staff = f.UserFactory(username="staff_plain", is_staff=True)
    integration = f.make_integration("loan_system")
    inactive = f.make_compliance("former_compliance")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    assert Group.objects.get(name=COMPLIANCE) in inactive.groups.all()
    assert not (col_a.is_staff or integration.is_staff)
    w.users = {
        "collector": col_a, "integration": integration, "inactive_compliance": inactive, "staff": staff,
        "supervisor": sup_a, "compliance": compliance, "superuser": superuser,
    }
    # One signed-in session per role (second factor given where it is asked), made here once: each test sends its
    # role's session cookie instead of signing in again.
    w.sessions = {}
    for role, user in w.users.items():
        signing_in = Client()
        second_factor.force_login(signing_in, user)
        w.sessions[role] = signing_in.cookies[settings.SESSION_COOKIE_NAME].value

    borrowers = {
        "a": f.BorrowerFactory(borrower_ref="B-OWN-A", full_name="Alpha Own Borrower",
                               national_id="110101199003071111"),
        "b": f.BorrowerFactory(borrower_ref="B-OTHER-B", full_name="Bravo Other Borrower",
                               national_id="110101199003072222"),
        "shared": f.BorrowerFactory(borrower_ref="B-SHARED", full_name="Charlie Shared Borrower",
                                    national_id="110101199003073333"),
    }
    owner = {"a": col_a, "b": col_b}
    loans = {t: f.LoanFactory(borrower=borrowers[t], assigned_collector=owner[t], loan_ref=f"L-{n}",
                              balance=Decimal("6000.00"))
             for t, n in (("a", "OWN-A"), ("b", "OTHER-B"))}
    shared_loans = {t: f.LoanFactory(borrower=borrowers["shared"], assigned_collector=owner[t],
                                     loan_ref=f"L-SHARED-{t.upper()}") for t in ("a", "b")}
    phones = {t: f.PhoneNumberFactory(borrower=borrowers[t]) for t in ("a", "b", "shared")}
    consents = {t: f.ConsentFactory(phone=phones[t], evidence_ref=f"EV-{t}") for t in ("a", "b", "shared")}
    third_parties = {t: f.ThirdPartyContactFactory(borrower=borrowers[t], contact_ref=f"C-{t.upper()}-TP",
                                                   full_name=f"Contact {t.upper()} Thirdparty") for t in ("a", "b")}
    times = {t: InconvenientTime.objects.create(borrower=borrowers[t], start=dt.time(1), end=dt.time(5),
                                                note=f"nights-{t}-only") for t in ("a", "b")}
    holds = {t: f.RestrictionFactory(borrower=borrowers[t], loan=loans[t], reason=f"hold-own-loan-{t}",
                                     ends_at=now + dt.timedelta(days=7)) for t in ("a", "b")}
    shared_holds = {t: f.RestrictionFactory(borrower=borrowers["shared"], loan=shared_loans[t],
                                            reason=f"hold-shared-loan-{t}", ends_at=now + dt.timedelta(days=7))
                    for t in ("a", "b")}
    wide = f.RestrictionFactory(borrower=borrowers["shared"], loan=None, kind="attorney", reason="wide-shared")
    attempts = {t: ContactAttempt.objects.create(
        loan=loans[t], phone=phones[t], borrower=borrowers[t], channel="call", started_at=now - dt.timedelta(hours=2),
        outcome="no_answer", collector=owner[t], compliant=True, recording_ref=f"rec-{t}-call",
    ) for t in ("a", "b")}
    plans = {t: plan_propose(loan=loans[t], kind="installments", actor=owner[t], reason=f"plan-reason-{t}", schedule=[
        (today + dt.timedelta(days=7 + 30 * i), Decimal("2000.00")) for i in range(3)]) for t in ("a", "b")}
    promises = {t: promise_create(loan=loans[t], amount="100", promise_date=today + dt.timedelta(days=3),
                                  actor=owner[t], note=f"promise-note-{t}") for t in ("a", "b")}
    payments = {t: payment_record(external_id=f"P-{t.upper()}-PAY", loan=loans[t], amount=Decimal("150.00"),
                                  paid_at=now - dt.timedelta(hours=1), actor=None)[0] for t in ("a", "b")}
    complaints = {t: complaint_open(borrower=borrowers[t], loan=loans[t], channel="phone",
                                    category="contact_frequency", description=f"complaint-text-{t}", actor=None)
                  for t in ("a", "b")}
    assert complaints["a"].assigned_to == sup_a and complaints["a"].queue == "supervisor"
    events = {t: audit_log(action=AuditAction.ADMIN_CHANGE, subject=loans[t], actor=None,
                           data={"op": "matrix", "model": "collections_app.loan", "fields": []}) for t in ("a", "b")}
    token, _secret = api_token_create(user=integration, name="matrix token")
    holiday = PublicHoliday.objects.create(jurisdiction="CN", date=dt.date(2031, 10, 1), name="National Day 2031")
    # The reference rows the migrations made have no history yet: a saved version each, as the admin would leave.
    policy = ContactPolicy.objects.order_by("pk").first()
    policy.save()
    latest = ContactPolicyVersion.objects.filter(policy=policy).order_by("-version").first()
    version = policy_version_create(policy_obj=policy, data=policy_version_data(latest), actor=compliance,
                                    change_note="matrix version")
    limit = ApprovalLimit.objects.order_by("pk").first()
    limit.save()
    template = message_template_save(template=MessageTemplate(code="matrix-reminder", channel="sms",
                                                              jurisdiction="CN", language="zh-hans"),
                                     changed=["code"], actor=compliance)
    draft = template_version_create(template=template, body="【{institution}】请于{due_date}前还款。", actor=compliance)
    phrase = ForbiddenPhrase.objects.order_by("pk").first()
    phrase.save()
    incident = incident_pause_start(scope="team", team=team_b, reason="dialer_fault", reference="MATRIX-INC-1",
                                    actor=compliance)
    access = {"ip_address": "10.1.2.3", "username": "someone", "user_agent": "matrix-agent", "http_accept": "*/*",
              "path_info": "/accounts/login/"}
    attempt_row = AccessAttempt.objects.create(get_data="", post_data="", failures_since_start=1, **access)
    log_row = AccessLog.objects.create(**access)
    failure_row = AccessFailureLog.objects.create(locked_out=False, **access)

    def team_rows(mapping: dict[str, Any]) -> dict[str, list[Any]]:
        return {t: [mapping[t]] for t in mapping}

    restrictions = {
        t: [holds[t], shared_holds[t], *Restriction.objects.filter(borrower=borrowers[t]).exclude(pk=holds[t].pk)]
        for t in ("a", "b")
    }
    w.rows = {
        "auth.user": {"a": [col_a], "b": [col_b]},
        "auth.group": {"shared": [Group.objects.get(name=SUPERVISOR)]},
        "axes.accessattempt": {"shared": [attempt_row]},
        "axes.accesslog": {"shared": [log_row]},
        "axes.accessfailurelog": {"shared": [failure_row]},
        "audit_app.auditevent": team_rows(events),
        "consent_app.borrower": team_rows(borrowers),
        "consent_app.thirdpartycontact": team_rows(third_parties),
        "consent_app.phonenumber": team_rows(phones),
        "consent_app.consent": team_rows(consents),
        "consent_app.restriction": {**restrictions, "shared": [wide]},
        "consent_app.inconvenienttime": team_rows(times),
        "collections_app.loan": {t: [loans[t], shared_loans[t]] for t in ("a", "b")},
        "collections_app.payment": team_rows(payments),
        "collections_app.team": {"a": [team_a], "b": [team_b]},
        "collections_app.teammember": {t: [TeamMember.objects.get(user=owner[t])] for t in ("a", "b")},
        "collections_app.contactattempt": team_rows(attempts),
        "collections_app.promise": team_rows(promises),
        "collections_app.repaymentplan": team_rows(plans),
        "collections_app.allocation": {t: list(Allocation.objects.filter(loan=loans[t])) for t in ("a", "b")},
        "collections_app.complaint": team_rows(complaints),
        "collections_app.apitoken": {"shared": [token]},
        "collections_app.approvallimit": {"shared": [limit]},
        "collections_app.contactpolicy": {"shared": [policy]},
        "collections_app.contactpolicyversion": {"shared": [version]},
        "collections_app.publicholiday": {"shared": [holiday]},
        "collections_app.messagetemplate": {"shared": [template]},
        "collections_app.messagetemplateversion": {"shared": [draft]},
        "collections_app.forbiddenphrase": {"shared": [phrase]},
        "collections_app.incidentpause": {"shared": [incident]},
    }

    def team_markers(t: str) -> list[str]:
        borrower, phone = borrowers[t], phones[t]
        return [
            borrower.borrower_ref, borrower.full_name, borrower.national_id, "****" + borrower.national_id[-4:],
            phone.e164, phone.masked, loans[t].loan_ref, shared_loans[t].loan_ref, third_parties[t].contact_ref,
            third_parties[t].full_name, times[t].note, holds[t].reason, shared_holds[t].reason,
            attempts[t].recording_ref, payments[t].external_id, complaints[t].description, promises[t].note,
            plans[t].reason, owner[t].username, {"a": sup_a, "b": sup_b}[t].username,
            {"a": team_a, "b": team_b}[t].name,
        ]

    shared = borrowers["shared"]
    w.markers = {
        "a": team_markers("a"), "b": team_markers("b"),
        "shared": [shared.borrower_ref, shared.full_name, shared.national_id, phones["shared"].e164, wide.reason],
    }
    w.extra = {"collector_a": col_a, "team_a": team_a, "shared_borrower": shared, "shared_loan_b": shared_loans["b"],
               "phone_b": phones["b"], "borrower_b": borrowers["b"]}
    for rows in w.rows.values():
        for objs in rows.values():
            assert objs and all(obj is not None and obj.pk is not None for obj in objs)
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once; every test runs in a savepoint of this transaction (pytest-django's `db`), and the module's end
    rolls it all back."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


# --- Expectations ------------------------------------------------------------------------------------------------

LOGIN, OK, REFUSED = "login", "ok", "refused"


def forbidden_markers(w: World, role: str) -> list[str]:
    if role in ALL_SEEING:
        return []
    if role == SUPERVISOR_ROLE:
        return w.markers["b"]
    return w.markers["a"] + w.markers["b"] + w.markers["shared"]


def check_response(w: World, role: str, response: Any, expected: str, where: str) -> None:
    status, location = response.status_code, response.get("Location", "")
    if expected == LOGIN:
        assert status == 302 and location.startswith(reverse("admin:login") + "?next="), (where, status, location)
    elif expected == OK:
        assert status == 200, (where, status, location)
    else:
        # Refused: forbidden, not found, or the admin's "does not exist" (its answer for a row outside the scope).
        missing = status == 302 and location == reverse("admin:index")
        assert status in (403, 404) or missing, (where, status, location)
        if missing:
            told = [str(m) for m in get_messages(response.wsgi_request)]
            assert any("doesn’t exist" in m for m in told), (where, told)
    body = b"".join(response) if response.streaming else response.content
    text = body.decode(errors="replace")
    leaked = [marker for marker in forbidden_markers(w, role) if marker in text]
    assert not leaked, (where, "personal data or references the role may not see", leaked)


def listed_pks(response: Any) -> set[Any]:
    return set(response.context["cl"].queryset.values_list("pk", flat=True))


def scope_pks(label: str, user: Any) -> set[Any]:
    """The rows the admin should list: the registered scope for scoped admins (complaints: also the review scope,
    which the complaint admin adds), every row for the admins of compliance-only and superuser-only models."""
    model, model_admin = REGISTRY[label]
    qs = model._default_manager.all()
    fresh = User.objects.get(pk=user.pk)
    if isinstance(model_admin, ScopedAdminMixin):
        qs = scopes.visible_to(fresh, qs)
    if model is Complaint:
        qs = complaints_reviewable_by(fresh, qs)
    return set(qs.values_list("pk", flat=True))


def snapshot(model: Any, pk: Any) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    history = getattr(model, "history", None)
    return (
        list(model._default_manager.filter(pk=pk).values()),
        model._default_manager.count(),
        history.count() if history is not None and hasattr(history, "count") else None,
        AuditEvent.objects.count(),
        TOTPDevice.objects.count(),
    )


def sign_in(client: Any, w: World, role: str) -> Any:
    client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[role]
    return w.users[role]


def url(label: str, name: str, *args: Any) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{name}", args=args)


# --- The views of the matrix -------------------------------------------------------------------------------------


def _base_actions(model_admin: Any) -> list[tuple[Any, str]]:
    return [(func, name) for func, name, _description in model_admin._get_base_actions()]


def _autocomplete_source(model: Any) -> tuple[Any, str] | None:
    """A forward relation of some model to `model`: what the autocomplete endpoint is asked about."""
    from django.apps import apps

    for source in apps.get_models():
        for field in source._meta.get_fields():
            if (field.is_relation and not field.auto_created and getattr(field, "remote_field", None) is not None
                    and field.remote_field.model is model and (field.many_to_one or field.many_to_many)):
                return source, field.name
    return None


def _views(label: str) -> list[str]:
    model, model_admin = REGISTRY[label]
    tags = row_tags(label)
    views = ["changelist", "add", "add_post"]
    views += [f"change[{t}]" for t in tags] + [f"change_post[{t}]" for t in tags if t != "shared" or len(tags) == 1]
    views += [f"history[{t}]" for t in tags]
    if isinstance(model_admin, SimpleHistoryAdmin):
        views += [f"version[{t}]" for t in tags if t != "shared" or len(tags) == 1]
        views += [f"revert[{t}]" for t in tags if t != "shared" or len(tags) == 1]
    views += [f"delete[{t}]" for t in tags if t != "shared" or len(tags) == 1]
    views += [f"action[{name}]" for _func, name in _base_actions(model_admin)]
    if model_admin.search_fields and _autocomplete_source(model) is not None:
        views.append("autocomplete")
    if isinstance(model_admin, PhoneSearchMixin):
        views.append("number_search[other]")
    views += [f"url[{name}]" for name in _custom_url_names(model_admin)]
    views += [f"row_url[{name}/{variant}/{t}]" for name in _row_url_names(model_admin) for variant in ROW_URLS[name]
              for t in tags]
    return views


_STANDARD_URL_SUFFIXES = ("_changelist", "_add", "_history", "_delete", "_change", "_simple_history")


def _custom_url_names(model_admin: Any, *, of_a_row: bool = False) -> list[str]:
    """The admin's own pages beyond Django's (reports, exports): named URLs without arguments, or (`of_a_row`) the
    pages of one row (a borrower's reveal), whose arguments start with the row's id."""
    names = []
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if name and not name.endswith(_STANDARD_URL_SUFFIXES) and bool(pattern.pattern.converters) is of_a_row:
            names.append(name)
    return names


def _row_url_names(model_admin: Any) -> list[str]:
    names = _custom_url_names(model_admin, of_a_row=True)
    undescribed = [name for name in names if name not in ROW_URLS]
    assert not undescribed, f"describe the admin's row pages {undescribed} in ROW_URLS"
    return names


# Who may open the admins' own pages (the promise and complaint reports, scoped to the reader's teams). A page not
# listed: superusers only, until someone decides otherwise.
CUSTOM_URL_READERS = {
    "collections_app_plan_report": SCS,
    "collections_app_complaint_report": SCS,
    "collections_app_complaint_report_csv": SCS,
}


# The admins' own pages of one row: per page, its variants (the arguments after the row's id) and who may open them
# on a row of their scope (the others get a refusal, and the row outside the scope a 404). A row page not listed
# fails the matrix.
ROW_URLS: dict[str, dict[str, tuple[tuple[str, ...], frozenset[str]]]] = {
    # The borrower's name to whoever may read the borrower; the national id to compliance officers only.
    "consent_app_borrower_reveal": {"full_name": (("full_name",), SCS), "national_id": (("national_id",), CS)},
    # A third party's name to whoever may read the contact.
    "consent_app_thirdpartycontact_reveal": {"full_name": ((), SCS)},
    # A version's buttons: submit and approve take a POST only (a GET is a 404 for everyone); the reject page asks
    # for the comment.
    "collections_app_messagetemplateversion_submit": {"get": ((), NOBODY)},
    "collections_app_messagetemplateversion_approve": {"get": ((), NOBODY)},
    "collections_app_messagetemplateversion_reject": {"get": ((), CS)},
    # A pause's lift page (its confirmation; the officer who started it is told a second one lifts it).
    "collections_app_incidentpause_lift": {"get": ((), CS)},
}


# Kinds of cell that only differ from another cell by the request's method on the same URL: for users who cannot use
# the admin at all, the admin's gate (AdminSite.admin_view) answers before the method or the row matter, so they get
# every URL once (GET, and the POSTs of the actions and the number search) on the first row.
_SAME_URL_AS_A_GET = ("change_post", "revert", "add_post")
# For the roles that see every row, the own team's row, the other team's and the shared borrower's are the same
# case: their row pages are checked on the other team's row.
_ROW_KINDS = ("change", "change_post", "history", "version", "revert", "delete", "row_url")
# A superuser counts as a compliance officer in every scope (`permissions.is_compliance`): where the two have the same
# rights on an admin, the compliance officer's cells stand for the superuser's beyond the changelist, the change
# page and the actions.
_SUPERUSER_ALWAYS = ("changelist", "change", "action", "url")


def _same_rights_as_compliance(label: str) -> bool:
    return all(has_right(label, C, kind) == has_right(label, SU, kind) for kind in KINDS)


def _applies(label: str, role: str, view: str) -> bool:
    """Whether the cell is a refusal or a read the role should get: a write the role may rightly do is not
    exercised here (the areas' own tests do)."""
    kind, _, tag = view.partition("[")
    tag = tag.rstrip("]")
    if kind == "row_url":  # "<url name>/<variant>/<row tag>": a row page, judged as the row's other pages
        tag = tag.rsplit("/", 1)[-1]
    if role in NO_ADMIN:
        if role == "integration" and kind not in ("changelist", "change", "action"):
            return False  # not staff, like the collector, who gets every URL: the same answer of the same gate
        if kind in ("action", "number_search", "url"):
            return True
        return kind not in _SAME_URL_AS_A_GET and tag in ("", row_tags(label)[0])
    if kind == "add" and not has_right(label, role, "add"):
        return False  # add_post asks the same has_add_permission first, and checks that nothing was added
    if role == "staff" and tag in row_tags(label)[1:]:
        return False  # staff without a role has an empty scope and no right: one row says it
    if role in ALL_SEEING and kind in _ROW_KINDS and tag in ("own", "shared") and len(row_tags(label)) > 1:
        return False
    if role == SU and _same_rights_as_compliance(label) and kind not in _SUPERUSER_ALWAYS:
        return False
    if kind == "change_post":
        return not (has_right(label, role, "change") and sees_row(label, role, tag))
    if kind == "add_post":
        return not has_right(label, role, "add") or role == SUPERVISOR_ROLE
    return True


CELLS = [
    pytest.param(label, role, view, id=f"{label}|{role}|{view}")
    for label in LABELS for view in _views(label) for role in ROLES if _applies(label, role, view)
]


@pytest.mark.django_db
def test_every_registered_admin_has_rows_in_the_world(world):
    missing = [f"{label} {tag}" for label in LABELS for tag in row_tags(label)
               if not world.rows.get(label, {}).get(TAG_OF[tag])]
    undescribed = [label for label in LABELS if label not in RIGHTS]
    assert (missing, undescribed) == ([], [])


@pytest.mark.django_db
@pytest.mark.parametrize(("label", "role", "view"), CELLS)
def test_admin_matrix(client, world, label, role, view):
    kind, _, tag = view.partition("[")
    tag = tag.rstrip("]")
    user = sign_in(client, world, role)
    where = f"{label} × {role} × {view}"
    no_admin = role in NO_ADMIN
    can_view = has_right(label, role, "view") or has_right(label, role, "change")
    if kind == "changelist":
        _changelist(client, world, label, role, user, where, no_admin, can_view)
    elif kind == "change":
        _change(client, world, label, role, tag, where, no_admin, can_view)
    elif kind == "change_post":
        _change_post(client, world, label, role, tag, where, no_admin)
    elif kind == "history":
        row = world.row(label, tag)
        expected = LOGIN if no_admin else OK if can_view and sees_row(label, role, tag) else REFUSED
        check_response(world, role, client.get(url(label, "history", row.pk)), expected, where)
    elif kind == "version":
        row = world.row(label, tag)
        version = row.history.order_by("-history_id").first()
        assert version is not None, f"{where}: the row has no history"
        expected = LOGIN if no_admin else OK if can_view and sees_row(label, role, tag) else REFUSED
        check_response(world, role, client.get(url(label, "simple_history", row.pk, version.history_id)), expected,
                       where)
    elif kind == "revert":
        _revert(client, world, label, role, tag, where, no_admin)
    elif kind == "add":
        expected = LOGIN if no_admin else OK if has_right(label, role, "add") else REFUSED
        check_response(world, role, client.get(url(label, "add")), expected, where)
    elif kind == "add_post":
        _add_post(client, world, label, role, where, no_admin)
    elif kind == "delete":
        _delete(client, world, label, role, tag, where, no_admin)
    elif kind == "action":
        _action(client, world, label, role, tag, where, no_admin, can_view)
    elif kind == "autocomplete":
        _autocomplete(client, world, label, role, user, where, no_admin)
    elif kind == "number_search":
        _number_search(client, world, label, role, user, where, no_admin, can_view)
    elif kind == "url":
        readers = CUSTOM_URL_READERS.get(tag, ONLY_SU)
        expected = LOGIN if no_admin else OK if role in readers else REFUSED
        check_response(world, role, client.get(reverse(f"admin:{tag}")), expected, where)
    elif kind == "row_url":
        name, variant, row_tag = tag.split("/")
        args, readers = ROW_URLS[name][variant]
        row = world.row(label, row_tag)
        expected = LOGIN if no_admin else OK if role in readers and sees_row(label, role, row_tag) else REFUSED
        check_response(world, role, client.get(reverse(f"admin:{name}", args=[row.pk, *args])), expected, where)
    else:
        raise AssertionError(view)


def _changelist(client, w, label, role, user, where, no_admin, can_view):
    response = client.get(url(label, "changelist"))
    check_response(w, role, response, LOGIN if no_admin else OK if can_view else REFUSED, where)
    if response.status_code != 200:
        return
    listed = listed_pks(response)
    assert listed == scope_pks(label, user), where
    own, other, shared = (w.tagged_pks(label, t) for t in ("a", "b", "shared"))
    if role == SUPERVISOR_ROLE and label in COMPLIANCE_ONLY_SCOPE:
        assert listed == set(), (where, "rows of a compliance-only model are listed")
    elif role == SUPERVISOR_ROLE:
        assert listed & other == set(), (where, "the other team's rows are listed")
        assert own | shared <= listed, (where, "the own team's rows are missing")
    else:
        assert own | other | shared <= listed, where


def _change(client, w, label, role, tag, where, no_admin, can_view):
    row = w.row(label, tag)
    response = client.get(url(label, "change", row.pk))
    visible = can_view and sees_row(label, role, tag)
    check_response(w, role, response, LOGIN if no_admin else OK if visible else REFUSED, where)
    if visible:
        may_change = has_right(label, role, "change")
        assert response.context["has_change_permission"] is may_change, (where, "change rights")


# A change that would matter, per admin (fields the change form really has); the rest post an empty form. A refused
# change must be refused before its form is read, so a 200 (the form shown again with errors) is a failure too.
def _change_data(label: str, w: World) -> dict[str, Any]:
    return {
        "collections_app.loan": {"assigned_collector": w.extra["collector_a"].pk},
        "consent_app.restriction": {"lift": "on", "lift_reason_text": "matrix"},
        "consent_app.consent": {"withdraw_via": "phone", "withdraw_channels": ["call"],
                                "withdraw_evidence_ref": "MATRIX-1", "withdraw_confirm": "on"},
        "consent_app.phonenumber": {"status": "wrong_number", "status_reason": "matrix"},
        "collections_app.complaint": {"move_to": "acknowledged"},
        "consent_app.borrower": {"full_name": "Changed By Matrix", "jurisdiction": "CN", "timezone": "Asia/Shanghai"},
        "consent_app.inconvenienttime": {"weekdays": "0", "start": "01:00", "end": "02:00", "note": "matrix"},
        "collections_app.teammember": {"user": w.extra["collector_a"].pk, "team": w.extra["team_a"].pk},
        "collections_app.approvallimit": {"role": "Collector", "max_installments": 99, "max_discount_percent": "50",
                                          "max_first_payment_delay_days": 60},
    }.get(label, {})


def _change_post(client, w, label, role, tag, where, no_admin):
    model, _model_admin = REGISTRY[label]
    row = w.row(label, tag)
    before = snapshot(model, row.pk)
    response = client.post(url(label, "change", row.pk), _change_data(label, w))
    assert snapshot(model, row.pk) == before, (where, "a refused change changed the database")
    check_response(w, role, response, LOGIN if no_admin else REFUSED, where)


def _form_data(form: Any) -> dict[str, Any]:
    """What a browser would post for `form` as it is shown (its initial values)."""
    data: dict[str, Any] = {}
    for name in form.fields:
        bound = form[name]
        widget = bound.field.widget
        while isinstance(widget, RelatedFieldWidgetWrapper):
            widget = widget.widget
        context = widget.get_context(bound.html_name, bound.value(), {})["widget"]
        for widget in context.get("subwidgets") or [context]:
            value = widget["value"]
            if isinstance(value, bool):
                if value:
                    data[widget["name"]] = "on"
            elif value is not None:
                data[widget["name"]] = value
    return data


def _revert(client, w, label, role, tag, where, no_admin):
    """POST the version page with the version's own values, as its Revert button would: reverting would save the
    model outside its service, without its audit event, so nobody may (the areas' forms are the way to change)."""
    model, model_admin = REGISTRY[label]
    row = w.row(label, tag)
    version = row.history.order_by("-history_id").first()
    request = RequestFactory().get("/")
    request.user = w.users["superuser"]
    old = version.instance
    data = _form_data(model_admin.get_form(request, old)(instance=old))
    if "change_note" in data:
        data["change_note"] = "reverted by the matrix"
    before = snapshot(model, row.pk)
    response = client.post(url(label, "simple_history", row.pk, version.history_id), data)
    assert snapshot(model, row.pk) == before, (where, "a revert changed the database")
    check_response(w, role, response, LOGIN if no_admin else REFUSED, where)


def _add_data(label: str, w: World) -> dict[str, Any]:
    """An add aimed at the other team: for a supervisor who may add, the form must refuse the target."""
    start, end = timezone.localtime(), timezone.localtime() + dt.timedelta(days=7)
    return {
        "consent_app.restriction": {
            "borrower": w.extra["shared_borrower"].pk, "loan": w.extra["shared_loan_b"].pk, "kind": "temporary_hold",
            "starts_at_0": start.date().isoformat(), "starts_at_1": "00:00:00",
            "ends_at_0": end.date().isoformat(), "ends_at_1": "00:00:00", "reason": "matrix hold",
        },
        "consent_app.consent": {
            "phone": w.extra["phone_b"].pk, "channels": ["call"], "basis": "electronic", "evidence_ref": "EV-matrix",
            "granted_at_0": start.date().isoformat(), "granted_at_1": "00:00:00",
        },
        "consent_app.inconvenienttime": {"borrower": w.extra["borrower_b"].pk, "weekdays": "0", "start": "01:00",
                                         "end": "02:00"},
    }.get(label, {})


def _add_post(client, w, label, role, where, no_admin):
    model, _model_admin = REGISTRY[label]
    before = (model._default_manager.count(), AuditEvent.objects.count())
    response = client.post(url(label, "add"), _add_data(label, w))
    if not no_admin and has_right(label, role, "add"):
        # A supervisor adding for the other team: the form refuses the choice (it is not among theirs).
        check_response(w, role, response, OK, where)
        assert response.context["adminform"].form.errors, where
    else:
        check_response(w, role, response, LOGIN if no_admin else REFUSED, where)
    assert (model._default_manager.count(), AuditEvent.objects.count()) == before, (where, "a row was added")


def _delete(client, w, label, role, tag, where, no_admin):
    model, _model_admin = REGISTRY[label]
    row = w.row(label, tag)
    if not no_admin and has_right(label, role, "delete") and sees_row(label, role, tag):
        check_response(w, role, client.get(url(label, "delete", row.pk)), OK, where)  # the confirmation page only
        return
    if no_admin:
        check_response(w, role, client.get(url(label, "delete", row.pk)), LOGIN, where)
        return  # the POST meets the same gate
    # Refused: the confirmation page and the confirmation itself answer the same permission check; the POST is the
    # one that would delete.
    before = snapshot(model, row.pk)
    response = client.post(url(label, "delete", row.pk), {"post": "yes"})
    assert snapshot(model, row.pk) == before, (where, "a refused delete changed the database")
    check_response(w, role, response, REFUSED, where)


# What an action needs beyond the selection to go as far as it can (the reassign action's second step).
ACTION_DATA = {
    "reassign": lambda w: {"apply": "1", "collector": w.extra["collector_a"].pk},
    "withdraw_selected": lambda w: {"apply": "yes", "via": "phone", "channels": ["call", "sms"],
                                    "evidence_ref": "MATRIX-1", "confirm": "on"},
}


def _action(client, w, label, role, tag, where, no_admin, can_view):
    model, model_admin = REGISTRY[label]
    name = tag
    func = {n: fn for fn, n in _base_actions(model_admin)}[name]
    needs = getattr(func, "allowed_permissions", ()) or ("view",)
    unknown = set(needs) - set(KINDS)
    assert not unknown, f"{where}: describe the right(s) {unknown} in the matrix"
    allowed = not no_admin and can_view and all(has_right(label, role, kind) for kind in needs)
    # What the changelist's action menu offers (its choices are get_actions' for the signed-in user).
    request = RequestFactory().get(url(label, "changelist"))
    request.user = User.objects.get(pk=w.users[role].pk)
    offered = name in model_admin.get_actions(request) and not no_admin and can_view
    assert offered is allowed, (where, "offered" if offered else "not offered")
    if allowed and role in ALL_SEEING:
        return  # theirs to do: every row is in their scope (the areas' tests run the actions)
    if allowed and row_tags(label) == ("shared",):
        return  # a shared row is in the supervisor's scope too: nothing of another team to aim at
    target = w.row(label, "other" if allowed else row_tags(label)[0])
    data = {"action": name, ACTION_CHECKBOX_NAME: [target.pk], "index": "0", "select_across": "0",
            **ACTION_DATA.get(name, lambda w: {})(w)}
    before = snapshot(model, target.pk)
    response = client.post(url(label, "changelist"), data)
    assert snapshot(model, target.pk) == before, (where, "the action changed the database")
    if no_admin:
        check_response(w, role, response, LOGIN, where)
        return
    if not can_view:
        check_response(w, role, response, REFUSED, where)
        return
    told = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    assert response.status_code in (200, 302, 403), (where, response.status_code)
    assert not [m for level, m in told if level == messages.SUCCESS], (where, "told it succeeded", told)
    if allowed:
        # The supervisor's action on the other team's row: refused, and told so.
        assert response.status_code == 403 or [m for level, m in told if level == messages.ERROR], (where, told)
    text = response.content.decode(errors="replace")
    assert not [m for m in forbidden_markers(w, role) if m in text], where


def _autocomplete(client, w, label, role, user, where, no_admin):
    model, _model_admin = REGISTRY[label]
    source, field_name = _autocomplete_source(model)
    response = client.get(reverse("admin:autocomplete"), {
        "term": "", "app_label": source._meta.app_label, "model_name": source._meta.model_name,
        "field_name": field_name})
    expected = LOGIN if no_admin else OK if has_right(label, role, "view") else REFUSED
    check_response(w, role, response, expected, where)
    if response.status_code != 200:
        return
    payload = response.json()
    found = {str(item["id"]) for item in payload["results"]}
    visible = {str(pk) for pk in scope_pks(label, user)}
    assert found <= visible, (where, "rows outside the scope offered")
    if not payload["pagination"]["more"]:
        assert found == visible, where
    if role == SUPERVISOR_ROLE:
        assert not found & {str(pk) for pk in w.tagged_pks(label, "b")}, where


def _number_search(client, w, label, role, user, where, no_admin, can_view):
    """The other team's number typed into the search box (posted, kept in the session, listed by `?qid=`)."""
    response = client.post(url(label, "changelist"), {NUMBER_SEARCH_MARK: "1", "q": w.extra["phone_b"].e164})
    if no_admin or not can_view:
        check_response(w, role, response, LOGIN if no_admin else REFUSED, where)
        return
    assert response.status_code == 302 and "?qid=" in response["Location"], (where, response.status_code)
    page = client.get(response["Location"])
    check_response(w, role, page, OK, where)
    listed = listed_pks(page)
    assert listed <= scope_pks(label, user), where
    if role == SUPERVISOR_ROLE:
        assert listed & w.tagged_pks(label, "b") == set(), (where, "the other team's rows found by their number")
    else:
        assert w.row(label, "other").pk in listed, (where, "compliance finds the number's rows")


@pytest.mark.django_db
def test_an_action_on_a_selection_naming_another_teams_row_is_refused_as_a_whole(client, world):
    """The own team's hold and the other team's, selected together (a crafted POST: the list shows only the own
    team's): nothing is lifted, and the supervisor is told which row does not exist for them. Alone, the own
    team's hold is lifted."""
    own, other = world.row("consent_app.restriction", "own"), world.row("consent_app.restriction", "other")
    sign_in(client, world, SUPERVISOR_ROLE)
    changelist = url("consent_app.restriction", "changelist")
    selected = {"action": "lift_selected", "index": "0", ACTION_CHECKBOX_NAME: [own.pk, other.pk]}

    response = client.post(changelist, selected)
    assert (response.status_code, response["Location"]) == (302, changelist)
    assert [(m.level, str(m)) for m in get_messages(response.wsgi_request)] == [
        (messages.ERROR, f"restriction with ID “{other.pk}” doesn’t exist. Perhaps it was deleted?")]
    assert not Restriction.objects.filter(pk__in=[own.pk, other.pk], lifted_at__isnull=False).exists()

    response = client.post(changelist, {**selected, ACTION_CHECKBOX_NAME: [own.pk]})
    told = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    assert told[-1] == (messages.SUCCESS, "1 restriction(s) lifted.")  # after the first answer's, not yet shown
    assert Restriction.objects.get(pk=own.pk).lifted_at is not None
    assert Restriction.objects.get(pk=other.pk).lifted_at is None
