from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsAppConfig(AppConfig):
    name = "collections_app"
    verbose_name = _("Collections")

    def ready(self) -> None:
        # Policy admin lives in its own module to keep admin.py about loans and payments.
        from . import policy_admin  # noqa: F401
