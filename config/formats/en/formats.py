"""Date formats of the English desk: Django's English formats, with dates written as on every other page of the desk
(`2027-02-11`, `2027-02-11 08:00`) rather than `Feb. 11, 2027` in some places and `2027-03-03` in others."""

from django.conf.locale.en.formats import *  # type: ignore[import-untyped]  # noqa: F403 - the rest is Django's

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "m-d"
