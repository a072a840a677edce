"""The importer applies the borrowers' zone rule: a legacy name is stored as its zone, a zone that is not a place
is a rejected row naming the column, on the bulk path and on the service path (an existing borrower) alike."""

from __future__ import annotations

import pytest

from consent_app.models import Borrower
from tests import factories as f

from .test_import import row, run_import, write_csv

pytestmark = pytest.mark.django_db


def test_a_legacy_zone_name_is_imported_as_its_zone(tmp_path):
    f.BorrowerFactory(borrower_ref="B0002", timezone="Asia/Shanghai", jurisdiction="CN")
    path = write_csv(tmp_path / "loans.csv", [row(1, timezone="PRC"), row(2, timezone="Asia/Chongqing")])
    _out, err, exc = run_import(path)
    assert exc is None, err
    assert dict(Borrower.objects.values_list("borrower_ref", "timezone")) == {
        "B0001": "Asia/Shanghai", "B0002": "Asia/Shanghai"}


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT-8", "CST6CDT"])
def test_a_zone_that_is_not_a_place_rejects_the_row(tmp_path, zone):
    path = write_csv(tmp_path / "loans.csv", [row(1, timezone=zone)])
    _out, err, exc = run_import(path)
    assert exc is not None
    assert "line 2, column timezone: Not the time zone of a place" in err
    assert not Borrower.objects.exists()
