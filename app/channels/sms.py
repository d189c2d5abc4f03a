"""SMS: outbound through the provider's HTTP webhook, inbound replies (STOP) parsed here.

Outbound is one JSON ``POST`` per message to ``SMS_WEBHOOK_URL`` with an ``Idempotency-Key``
header (the message's stable id) so a provider that honours it drops a repeated request.
"""

from __future__ import annotations

import json
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass

from app.channels.errors import PermanentFailure, TransientFailure

#: Reply words that mean "stop texting me", compared after case folding and accent stripping.
STOP_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
        "arresta",
        "basta",
        "cancella",
        "disiscrivi",  # it
        "halt",
        "abmelden",
        "stoppen",  # de
        "arret",
        "arreter",
        "desabonner",  # fr
        "alto",
        "baja",
        "parar",
        "cancelar",  # es
    }
)
#: HTTP statuses worth retrying: timeouts, rate limits and server errors.
RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """One rendered text message; exists only in memory, never logged."""

    recipient: str
    text: str
    message_id: str


def is_stop_request(text: str) -> bool:
    """Whether a reply asks to stop: its first word is a stop word (``STOP``, ``Arresta``…)."""
    words = _fold(text).split()
    return bool(words) and words[0].strip(".!") in STOP_WORDS


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("-", "")


class SmsGateway:
    """The provider's webhook: ``send`` posts one message, mapping failures to retry or not."""

    def __init__(self, url: str, timeout: float = 10.0, token: str | None = None) -> None:
        """Post to ``url`` (http or https) with ``timeout`` seconds and optional bearer token."""
        if not url.startswith(("http://", "https://")):
            raise ValueError("SMS_WEBHOOK_URL must be an http:// or https:// URL")
        self.url = url
        self.timeout = timeout
        self.token = token

    def send(self, sms: OutgoingSms) -> None:
        """Deliver ``sms``; raises TransientFailure or PermanentFailure (no number named)."""
        body = json.dumps({"to": sms.recipient, "text": sms.text, "message_id": sms.message_id})
        headers = {"Content-Type": "application/json", "Idempotency-Key": sms.message_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read(1024)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 or exc.code in RETRY_STATUSES:
                raise TransientFailure(f"SMS provider answered HTTP {exc.code}", exc.code) from None
            raise PermanentFailure(
                f"SMS provider refused the message (HTTP {exc.code})", exc.code
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientFailure(f"SMS provider unreachable ({exc.__class__.__name__})") from None
