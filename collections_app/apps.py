from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsAppConfig(AppConfig):
    name = "collections_app"
    verbose_name = _("Collections")

    def ready(self) -> None:
        # Each area keeps its admin in its own module; admin.py is about loans and payments.
        from . import policy_admin  # noqa: F401
        from .complaints import admin as complaints_admin  # noqa: F401
        from .plans import admin as plans_admin  # noqa: F401
