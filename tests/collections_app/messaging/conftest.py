"""Message templates: a second compliance officer, and templates per jurisdiction built through the services."""

from __future__ import annotations

import pytest

from collections_app.messaging.services import (
    message_template_save,
    template_version_approve,
    template_version_create,
    template_version_submit,
)
from collections_app.models import MessageTemplate
from tests import factories as f

CN_SMS = ("【{institution}】您的借款{amount_due}元已于{due_date}到期，请通过{pay_link}还款，"
          "如有疑问请致电{agent_phone}。")
US_SMS = ("{institution}: this is a debt collector. {amount_due} was due on {due_date}. Pay at {pay_link} or call "
          "{agent_phone}. Reply STOP to opt out.")
US_VOICE = "Hello, this is {agent_name} from {institution}. Please call us back at {agent_phone}. Thank you."
UK_SMS = "{institution}: a payment of {amount_due} was due on {due_date}. Please call {agent_phone} to talk it over."


@pytest.fixture
def second_compliance(db):
    return f.make_compliance("compliance_second")


def make_template(actor, *, code="cn-reminder", channel="sms", jurisdiction="CN", language="zh-hans",
                  third_party_safe=False, valid_for_hours=24) -> MessageTemplate:
    template = MessageTemplate(code=code, channel=channel, jurisdiction=jurisdiction, language=language,
                               third_party_safe=third_party_safe, valid_for_hours=valid_for_hours)
    return message_template_save(template=template, changed=["code"], actor=actor)


def publish(template, body, *, author, approver):
    version = template_version_create(template=template, body=body, actor=author)
    template_version_submit(version=version, actor=author)
    return template_version_approve(version=version, actor=approver)
