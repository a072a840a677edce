"""`manage.py create_api_token USERNAME [--name NAME]`: a bearer token for an Integration user, shown once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collections_app.api.auth import api_token_create
from collections_app.permissions import INTEGRATION, is_integration


class Command(BaseCommand):
    help = (
        "Create an API bearer token for a user in the Integration group. The token is printed once on stdout; "
        "only its SHA-256 is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'dialer (vendor X)'.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive.")
        if not is_integration(user):
            raise CommandError(
                f"The user {username!r} is not in the {INTEGRATION!r} group; API tokens are only for integrations."
            )
        try:
            row, token = api_token_create(user=user, name=name, actor=None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        # The token alone on stdout (scripts capture it); the explanation on stderr.
        self.stdout.write(token)
        self.stderr.write(
            f"Token {row.prefix}… created for {username}. Store it now: it cannot be shown again."
        )
