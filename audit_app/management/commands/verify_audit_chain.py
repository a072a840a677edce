from django.core.management.base import BaseCommand, CommandError

from audit_app.models import AuditEvent
from audit_app.services import iter_chain_breaks


class Command(BaseCommand):
    help = "Verify the audit event hash chain; exits non-zero when an event was altered or removed."

    def handle(self, *args, **options):
        breaks = list(iter_chain_breaks())
        for event_id, problem in breaks:
            self.stderr.write(f"event {event_id}: {problem}")
        if breaks:
            first_id, first_problem = breaks[0]
            raise CommandError(
                f"{len(breaks)} break(s) in the audit chain; first at event {first_id}: {first_problem}"
            )
        self.stdout.write(f"audit chain intact ({AuditEvent.objects.count()} events)")
