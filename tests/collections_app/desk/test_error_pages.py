"""The desk's own error pages: a view's 404 ("not found or not yours") is the desk's page with a way back, also
under DEBUG (`make run`), where Django would otherwise show its debug page to a collector; 403 and 500 too."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
def test_another_collectors_account_is_the_desks_not_found_page(client, settings, collector, other_collector, debug):
    settings.DEBUG = debug
    theirs = f.LoanFactory(assigned_collector=other_collector, loan_ref="L-THEIRS")
    client.force_login(collector)
    response = client.get(reverse("loan_detail", args=[theirs.loan_ref]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    body = response.content.decode()
    assert "not one of yours" in body and 'href="/"' in body
    assert "Sign out" in body  # the desk's layout, with its navigation
    assert "Technical details" not in body and "Django" not in body
    assert theirs.borrower.full_name not in body


def test_an_address_no_url_matches_keeps_the_debug_page_for_developers(client, settings, collector):
    settings.DEBUG = True
    client.force_login(collector)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "not one of yours" not in response.content.decode()


def test_the_forbidden_page_is_the_desks(collector):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="en")
    request.user = collector
    response = defaults.permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()


def test_the_server_error_page_renders_without_a_request_context():
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Back to the desk" in body or "返回工作台" in body
