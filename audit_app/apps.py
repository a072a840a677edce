from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from . import checks  # noqa: F401  (registers the system checks; imports no model)


class AuditAppConfig(AppConfig):
    name = "audit_app"
    verbose_name = _("Audit")
