"""`manage.py seed_demo`: a deterministic demo portfolio for development (collections_app/demo.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collections_app.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
from collections_app.desk.tasks import build_all_worklists


class Command(BaseCommand):
    help = (
        "Create demo users, a team and ~120 synthetic loans with numbers, consents, restrictions and payments. "
        "Development only (DEBUG=True). Safe to run again: nothing is duplicated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password", default=DEMO_PASSWORD,
            help=f"Password given to the demo users when they are created (default: {DEMO_PASSWORD}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo users share a known password (and one is a superuser): never on a real deployment.
        if not settings.DEBUG:
            raise CommandError("seed_demo runs only with DEBUG=True: it creates users with a known password.")
        result = seed_demo(password=options["password"])
        self.stdout.write("Demo data: " + ", ".join(f"{n} {label}" for label, n in result.counts.items()) + ".")
        usernames = ", ".join(name for name, *_rest in DEMO_USERS)
        if result.users_created:
            # Printed once, here: the password is development-only and shared by every demo user.
            self.stdout.write(
                f"Demo users created: {', '.join(result.users_created)}. Password: {options['password']}"
            )
        else:
            self.stdout.write(f"Demo users already existed ({usernames}); their passwords were not changed.")
        # Today's worklists, as the nightly job would have built them, so every screen has data at once.
        build_all_worklists.delay()
        self.stdout.write("Worklists built for today.")
