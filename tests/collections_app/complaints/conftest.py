"""Complaint fixtures on top of the shared personas (tests/conftest.py)."""

import pytest
import time_machine

from .helpers import MORNING, make_cn_loan


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cn_loan(collector):
    return make_cn_loan(collector)


@pytest.fixture
def other_loan(other_collector):
    return make_cn_loan(other_collector)
