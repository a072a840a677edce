"""Whose clock a working day follows: a team works in its own time zone (`Team.timezone`, the desk's TIME_ZONE
when blank), so a team in Chicago and one in Shanghai each have their own "today" for the worklist and their own
05:30 build (`collector_zone`, `work_date_in`).

The clock a person reads times on is another matter (`reader_zone`): their own zone when they set one
(`StaffProfile.time_zone`, the "my settings" page), else their team's, else the desk's; `http.ReaderTimeZoneMiddleware`
activates it for each request. A collector of a Shanghai team who reads the desk on London time still works
Shanghai's day: views that need the working day ask `work_date_in(collector_zone(user), now)`, never the current
time zone's date."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from .models import Team, TeamMember


def team_zone(timezone_name: str) -> str:
    """A team's stored zone name as the zone it works in (blank: the desk's)."""
    return timezone_name or settings.TIME_ZONE


def collector_zone(user: Any) -> str:
    """The zone of the user's team (the desk's without one). No query when the membership came with the user (the
    desk's authentication backend loads it)."""
    try:
        membership = user.team_membership
    except (ObjectDoesNotExist, AttributeError):
        return settings.TIME_ZONE
    return membership.team.zone


def reader_zone(user: Any) -> str:
    """The clock a user reads the desk and the admin on: their own zone (`StaffProfile.time_zone`), else their
    team's, else the desk's. Not their working day: a collector's worklist day and its build follow the team's zone
    (`collector_zone`) whatever clock they read it on. No query when the profile and the membership came with the
    user (the desk's authentication backend loads both)."""
    try:
        own = user.staff_profile.time_zone
    except (ObjectDoesNotExist, AttributeError):
        own = ""
    if own:
        try:
            ZoneInfo(own)
        except (ZoneInfoNotFoundError, ValueError):
            own = ""  # a zone the installed tz database no longer has: the team's clock rather than an error page
    return own or collector_zone(user)


def collector_zones(collector_ids: Iterable[int]) -> dict[int, str]:
    """The zone of each collector's team (the desk's for those without one): one query."""
    ids = set(collector_ids)
    zones = dict.fromkeys(ids, settings.TIME_ZONE)
    zones.update(
        (user_id, team_zone(name))
        for user_id, name in TeamMember.objects.filter(user_id__in=ids).values_list("user_id", "team__timezone")
    )
    return zones


def work_date_in(zone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def desk_zones() -> list[str]:
    """Every zone some team works in, and the desk's own (collectors without a team): one query."""
    return sorted({settings.TIME_ZONE} | {team_zone(name) for name in
                                          Team.objects.order_by().values_list("timezone", flat=True).distinct()})


def in_zone(zone: str, *, user_path: str) -> Q:
    """The rows whose user (reached by `user_path`, e.g. "assigned_collector") works in `zone`."""
    field = f"{user_path}__team_membership__team__timezone"
    condition = Q(**{field: zone})
    if zone == settings.TIME_ZONE:
        condition |= Q(**{field: ""}) | Q(**{f"{user_path}__team_membership__isnull": True})
    return condition
