"""Number formats of the Chinese desk: Django's zh_Hans formats, with amounts grouped by thousands (`34,800.00`)
as Chinese banking and collection statements write them; Django's own zh_Hans sets no separator at all."""

from django.conf.locale.zh_Hans.formats import *  # type: ignore[import-untyped]  # noqa: F403 - the rest is Django's

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
