from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditAppConfig(AppConfig):
    name = "audit_app"
    verbose_name = _("Audit")
