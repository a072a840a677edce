from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsAppConfig(AppConfig):
    name = "collections_app"
    verbose_name = _("Collections")

    def ready(self) -> None:
        # The access rules of every model the admin shows, including consent_app's (which cannot import this app):
        # the admin then scopes rows, choices, history and actions exactly as the desk does.
        from consent_app import history

        from . import labels, permissions
        from .complaints import hold_reasons
        from .contact import signals as contact_signals
        from .desk import signals
        from .desk.clock import borrower_clock
        from .models import LoanStatus
        from .policy import reasons

        permissions.register_scopes()
        # Today's worklists judged again when a fact the policy reads changes (desk/signals.py).
        signals.connect()
        # Every process's cached policy versions reloaded when a policy changes (contact/signals.py).
        contact_signals.connect()
        # A reason's message writes times on the desk's borrower clock and a loan's status in words, in the
        # reader's language (the policy engine knows neither).
        # Fields declared without a label, and every model's history, labelled in the reader's language.
        labels.label_fields()
        # Change reasons in words on consent_app's history pages too (consent_app cannot import this app).
        history.describe_change_reasons_with(labels.change_reason_label)
        # A complaint's hold reason in words on the restriction pages.
        history.describe_restriction_reasons_with(hold_reasons.restriction_reason_label)
        reasons.describe_values_with(
            local_time=lambda zone, at: borrower_clock(at, zone),
            status=lambda code: str(LoanStatus(code).label) if code in LoanStatus.values else code,
        )
