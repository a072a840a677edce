from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from .checks import key_canary_after_migrate  # registers the key check too; imports no model


class ConsentAppConfig(AppConfig):
    name = "consent_app"
    verbose_name = _("Borrowers and consent")

    def ready(self) -> None:
        # The keys in use when a database is first migrated write its key canary, which later start-ups check.
        post_migrate.connect(key_canary_after_migrate, sender=self)
