"""Reads of the messaging area: the forbidden phrases a template is checked against, the published version of a
template."""

from __future__ import annotations

from django.db.models import Q

from ..models import ForbiddenPhrase, MessageTemplate, MessageTemplateVersion, TemplateVersionState
from .lint import Phrase, TemplateFacts


def forbidden_phrases_for(jurisdiction: str) -> list[Phrase]:
    """The phrases of `jurisdiction` and those of every jurisdiction (one query)."""
    rows = ForbiddenPhrase.objects.filter(Q(jurisdiction="") | Q(jurisdiction=jurisdiction))
    return [Phrase(phrase=p, rule_code=code, jurisdiction=j)
            for p, code, j in rows.values_list("phrase", "rule_code", "jurisdiction")]


def template_facts(template: MessageTemplate) -> TemplateFacts:
    return TemplateFacts(channel=template.channel, jurisdiction=template.jurisdiction,
                         third_party_safe=template.third_party_safe)


def published_version(template: MessageTemplate) -> MessageTemplateVersion | None:
    """The newest approved version: what a message is sent from."""
    return (MessageTemplateVersion.objects.filter(template=template, state=TemplateVersionState.APPROVED)
            .order_by("-number").first())
