"""A complaint's collection hold says why in words on the admin's restriction pages: its stored reason holds the
complaint's reference and category code, the same in every language."""

import pytest
import time_machine
from django.urls import reverse

from tests import factories as f

from .helpers import MORNING, make_cn_loan, open_complaint

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "category"), [("en", "Contact frequency or harassment"),
                                                    ("zh-hans", "联系频率过高或骚扰")])
def test_the_hold_a_complaint_places_is_explained_by_its_category_in_words(client, collector, language, category):
    with time_machine.travel(MORNING, tick=False):
        complaint = open_complaint(make_cn_loan(collector), collector)
    hold = complaint.hold_restriction
    assert hold.reason == f"complaint {complaint.reference} (contact_frequency)"  # stored the same in every language
    client.force_login(f.make_compliance("compliance_hold"))
    client.cookies["django_language"] = language
    for url in (reverse("admin:consent_app_restriction_change", args=[hold.pk]),
                reverse("admin:consent_app_borrower_change", args=[hold.borrower_id])):
        body = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert complaint.reference in body and category in body
        assert "contact_frequency" not in body
