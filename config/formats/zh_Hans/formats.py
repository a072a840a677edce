"""Number and date formats of the Chinese desk: Django's zh_Hans formats, with amounts grouped by thousands
(`34,800.00`) as Chinese banking and collection statements write them (Django's own zh_Hans sets no separator at
all), and dates as the desk writes them on every page."""

from django.conf.locale.zh_Hans.formats import *  # type: ignore[import-untyped]  # noqa: F403 - the rest is Django's

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

# Dates as the desk writes them everywhere else (`2027-02-11`, `2027-02-11 08:00`): a page that says 2027年2月11日
# in one place and 2027-03-03 in the next makes the reader stop and compare.
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "m-d"
