"""Rendering one entry for its channel: template, permitted fields, unsubscribe and reason line.

Every e-mail carries a visible unsubscribe link and a line saying why the customer receives it
("you agreed on DATE to PURPOSE"); the RFC 8058 headers are added by the e-mail channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.campaigns.render import RenderedMessage, render_message
from app.channels.email import OutgoingEmail
from app.channels.sms import OutgoingSms
from app.delivery.recipients import Recipient
from app.delivery.template_book import TemplateBook
from app.delivery.tokens import unsubscribe_token
from app.policy_sets.in_force import policy_for

REASON = {
    "en": "You receive this because you agreed on {date} to receive {purpose} by {channel}.",
    "it": (
        "Ricevi questo messaggio perché il {date} hai accettato di ricevere {purpose} "
        "via {channel}."
    ),
}
UNSUBSCRIBE = {"en": "Unsubscribe with one click: {url}", "it": "Disiscriviti con un clic: {url}"}
SMS_STOP = {"en": "Reply STOP to opt out.", "it": "Rispondi ARRESTA per non ricevere più SMS."}


class CannotCompose(Exception):
    """The entry cannot be rendered (no template, no address, missing field); not sent."""


@dataclass(frozen=True, slots=True)
class Links:
    """Where links in messages point and which domain the unsubscribe mailbox is at."""

    base_url: str
    mail_domain: str


def purpose_label(jurisdiction: str, purpose: str, language: str) -> str:
    """The purpose's label in ``language`` (English, else the purpose id)."""
    policy = policy_for(jurisdiction)
    found = policy.purposes.get(purpose) if policy is not None else None
    labels = getattr(found, "labels", None) or {}
    return labels.get(language) or labels.get("en") or purpose


def reason_line(recipient: Recipient, label: str, channel: str) -> str:
    """ "You receive this because you agreed on DATE to PURPOSE" in the recipient's language."""
    when: datetime | None = recipient.granted_at
    date = when.strftime("%Y-%m-%d") if when else "your sign-up"
    return REASON.get(recipient.language, REASON["en"]).format(
        date=date, purpose=label, channel=channel
    )


def _context(entry, recipient: Recipient, book: TemplateBook, links: Links, label: str) -> dict:
    token = unsubscribe_token(recipient.customer_ref, entry.purpose, entry.channel)
    payload = json.loads(entry.payload_json) if entry.payload_json else {}
    return {
        "unsubscribe_url": f"{links.base_url}/u/{token}",
        "preferences_url": f"{links.base_url}/me/",
        "reason_line": reason_line(recipient, label, entry.channel),
        "purpose_label": label,
        "campaign_name": book.names.get(entry.campaign_id, ""),
        "brand": "Assenso",
        "offer": payload.get("offer", "") if isinstance(payload, dict) else "",
        "privacy_url": f"{links.base_url}/privacy",
        "_token": token,
    }


def _render(entry, recipient: Recipient, book: TemplateBook, context: dict) -> RenderedMessage:
    template = book.pick(entry.campaign_id, entry.variant, recipient.language)
    if template is None:
        raise CannotCompose("no template for this campaign variant")
    if not recipient.address:
        raise CannotCompose(f"no {entry.channel} address held")
    visible = {k: v for k, v in context.items() if not k.startswith("_")}
    try:
        return render_message(template, recipient.fields, visible, entry.channel)
    except Exception as exc:  # TemplateError and friends: messages name fields, never values
        raise CannotCompose(str(exc)[:200]) from None


def compose_email(
    entry, recipient: Recipient, book: TemplateBook, links: Links, message_id: str
) -> OutgoingEmail:
    """The e-mail for ``entry``, with footer lines and RFC 8058 unsubscribe targets."""
    label = purpose_label(recipient.jurisdiction, entry.purpose, recipient.language)
    context = _context(entry, recipient, book, links, label)
    rendered = _render(entry, recipient, book, context)
    footer_lines = (
        context["reason_line"],
        UNSUBSCRIBE.get(recipient.language, UNSUBSCRIBE["en"]).format(
            url=context["unsubscribe_url"]
        ),
    )
    text = rendered.text.rstrip("\n") + "\n\n-- \n" + "\n".join(footer_lines) + "\n"
    html = None
    if rendered.html:
        from markupsafe import escape

        link_text = escape(footer_lines[1].split(":")[0])
        html = (
            f'{rendered.html}\n<hr><p style="font-size:small">{escape(context["reason_line"])}<br>'
            f'<a href="{escape(context["unsubscribe_url"])}">{link_text}</a></p>\n'
        )
    return OutgoingEmail(
        recipient=recipient.address or "",
        subject=rendered.subject,
        text=text,
        html=html,
        message_id=message_id,
        unsubscribe_url=context["unsubscribe_url"],
        unsubscribe_mailto=f"mailto:unsubscribe+{context['_token']}@{links.mail_domain}",
    )


def compose_sms(
    entry, recipient: Recipient, book: TemplateBook, links: Links, message_id: str
) -> OutgoingSms:
    """The text message for ``entry``, ending with how to opt out."""
    label = purpose_label(recipient.jurisdiction, entry.purpose, recipient.language)
    context = _context(entry, recipient, book, links, label)
    rendered = _render(entry, recipient, book, context)
    stop = SMS_STOP.get(recipient.language, SMS_STOP["en"])
    return OutgoingSms(recipient.address or "", f"{rendered.text.strip()}\n{stop}", message_id)
