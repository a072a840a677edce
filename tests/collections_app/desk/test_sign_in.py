import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_repeated_failed_sign_ins_lock_the_account_even_with_the_right_password(client, collector, settings):
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": collector.username, "password": "wrong-guess"})
    locked = client.post(url, {"username": collector.username, "password": f.PASSWORD})
    assert locked.status_code == 429
    assert "Account locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_collector_signs_in_lands_on_the_worklist_and_signs_out(client, collector):
    response = client.post(reverse("login"), {"username": collector.username, "password": f.PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == reverse("worklist")
    client.post(reverse("logout"))
    assert client.get(reverse("worklist")).status_code == 302


def test_navigation_follows_the_role(client, collector, supervisor):
    client.force_login(collector)
    body = client.get(reverse("worklist")).content.decode()
    assert reverse("worklist") in body and reverse("team") not in body and "/admin/" not in body
    client.force_login(supervisor)
    body = client.get(reverse("team")).content.decode()
    assert reverse("team") in body and 'accesskey="w"' not in body
