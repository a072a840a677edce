"""A policy version's legal sources in admin: a table of rule, source and note (unverified, firm policy), not the
JSON it is stored as."""

from __future__ import annotations

import pytest
from django.urls import reverse

from collections_app.contact.services import policy_version_create, policy_version_data
from collections_app.models import ContactPolicyVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def cn_version():
    return ContactPolicyVersion.objects.filter(policy__code="CN").order_by("-version").first()


def _rows(body: str) -> list[str]:
    table = body.split('<table class="policy-sources">', 1)[1].split("</table>", 1)[0]
    return table.split("<tr>")[2:]  # after the header row


def test_the_sources_are_a_table_of_rule_source_and_note(client, compliance, cn_version):
    client.force_login(compliance)
    response = client.get(reverse("admin:collections_app_contactpolicyversion_change", args=[cn_version.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    rows = _rows(body)
    assert len(rows) == len(cn_version.sources)
    window = next(row for row in rows if "<code>window</code>" in row)
    assert "Contact hours" in window and "22:00 and 08:00" in window
    assert "Unverified against the official text" in window
    holidays = next(row for row in rows if "<code>holidays</code>" in row)
    assert "Firm policy, not law" in holidays and "Unverified" not in holidays
    channels = next(row for row in rows if "<code>channels</code>" in row)
    assert "Civil Code art. 1033(1)" in channels and "Unverified" not in channels and "Firm policy" not in channels
    # Not the stored JSON.
    assert '"window":' not in body and "&quot;window&quot;" not in body


def test_the_sources_table_is_on_the_version_history_page_too(client, compliance, cn_version):
    version = policy_version_create(policy_obj=cn_version.policy, data=policy_version_data(cn_version),
                                    actor=compliance, change_note="Same rules, new version")
    client.force_login(compliance)
    record = version.history.get()
    url = reverse("admin:collections_app_contactpolicyversion_simple_history", args=[version.pk, record.pk])
    body = client.get(url).content.decode()
    assert '<table class="policy-sources">' in body and "&quot;window&quot;" not in body


def test_the_add_form_still_edits_the_sources(client, compliance, cn_version):
    client.force_login(compliance)
    response = client.get(reverse("admin:collections_app_contactpolicyversion_add") + f"?policy={cn_version.policy_id}")
    assert response.status_code == 200
    assert "sources" in response.context["adminform"].form.fields


def test_a_collector_does_not_reach_the_policy_admin(client, collector, cn_version):
    client.force_login(collector)
    response = client.get(reverse("admin:collections_app_contactpolicyversion_change", args=[cn_version.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
