from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsAppConfig(AppConfig):
    name = "collections_app"
    verbose_name = _("Collections")

    def ready(self) -> None:
        # The access rules of every model the admin shows, including consent_app's (which cannot import this app):
        # the admin then scopes rows, choices, history and actions exactly as the desk does.
        from . import permissions
        from .contact import signals as contact_signals
        from .desk import signals

        permissions.register_scopes()
        # Today's worklists judged again when a fact the policy reads changes (desk/signals.py).
        signals.connect()
        # Every process's cached policy versions reloaded when a policy changes (contact/signals.py).
        contact_signals.connect()
