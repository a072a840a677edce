"""A stored number's mask and last four digits are read from its E.164 digits without a parse: the same as
phonenumbers reads them, for an example number of every region it knows."""

import phonenumbers
import pytest
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS

from consent_app.phones import last_four, mask


def _examples():
    for region in sorted(SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), number


def _by_parsing(number) -> tuple[str, str]:
    national = phonenumbers.national_significant_number(number)
    shown = national[:2] + "*" * max(len(national) - 4, 1) + national[-2:] if len(national) <= 7 \
        else national[:3] + "****" + national[-4:]
    return f"+{number.country_code} {shown}", national[-4:] if len(national) > 7 else ""


def test_every_regions_example_is_masked_as_phonenumbers_reads_it():
    examples = list(_examples())
    assert len(examples) > 400
    for e164, number in examples:
        assert (mask(e164), last_four(e164)) == _by_parsing(number), e164


@pytest.mark.parametrize(("stored", "masked"), [
    ("+8613800138000", "+86 138****8000"), ("+13125550123", "+1 312****0123"), ("+442079460123", "+44 207****0123"),
    ("+390612345678", "+39 061****5678"),  # Italy's leading zero is part of the national number
    ("", ""), ("not a number", "****"), ("+", "****"),
])
def test_stored_numbers(stored, masked):
    assert mask(stored) == masked
