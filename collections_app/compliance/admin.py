"""The audit trail's admin as compliance officers read it: audit_app's own (read-only, append-only), with its
times on the reader's clock and their UTC offset like every other admin (consent_app.admin.toolkit). audit_app
imports no other app, so the toolkit's ReaderTimesMixin is put on its admin here, where the desk's search of the
trail lives too."""

from __future__ import annotations

from django.contrib import admin

from audit_app.admin import AuditEventAdmin
from audit_app.models import AuditEvent
from consent_app.admin.toolkit import ReaderTimesMixin

if admin.site.is_registered(AuditEvent):
    admin.site.unregister(AuditEvent)


@admin.register(AuditEvent)
class ComplianceAuditEventAdmin(ReaderTimesMixin, AuditEventAdmin):
    pass
