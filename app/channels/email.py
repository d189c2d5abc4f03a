"""E-mail: RFC 5322 messages with RFC 8058 one-click unsubscribe, optional DKIM signatures,
and Message-IDs derived from idempotency keys. Sending them is :mod:`app.channels.smtp`.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, parseaddr

_MESSAGE_ID_LABEL = b"assenso.message-id\x00"
ONE_CLICK = "List-Unsubscribe=One-Click"
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A DKIM signing key: selector, signing domain and PEM private key."""

    selector: str
    domain: str
    private_key: bytes

    def __repr__(self) -> str:
        return f"DkimKey(selector={self.selector!r}, domain={self.domain!r})"


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One rendered e-mail, ready to go; exists only in memory, never logged."""

    recipient: str
    subject: str
    text: str
    html: str | None
    message_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str


def mail_domain(mail_from: str) -> str:
    """The domain of the sender address (``example.com`` for ``A <a@example.com>``)."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The Message-ID of the message with ``idempotency_key``: the same on every attempt.

    A hash, so the key's ids do not show in the header.
    """
    digest = hashlib.sha256(_MESSAGE_ID_LABEL + idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _header_text(value: str) -> str:
    """``value`` as a header: plain when ASCII, RFC 2047 encoded otherwise; no line breaks."""
    value = " ".join(value.split())
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    return binascii.b2a_qp(body).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _body(email: OutgoingEmail) -> tuple[bytes, bytes]:
    """(Content-Type header value, body) for text only or multipart/alternative."""
    text_part = _qp(email.text)
    if not email.html:
        return b'text/plain; charset="utf-8"', text_part
    boundary = b"=_" + hashlib.sha1(email.message_id.encode()).hexdigest().encode()  # noqa: S324
    part = (
        b'Content-Type: text/%s; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    body = b"".join(
        (
            b"--" + boundary + b"\r\n" + part % b"plain" + text_part + b"\r\n",
            b"--" + boundary + b"\r\n" + part % b"html" + _qp(email.html) + b"\r\n",
            b"--" + boundary + b"--\r\n",
        )
    )
    return b'multipart/alternative; boundary="' + boundary + b'"', body


def build_message(email: OutgoingEmail, mail_from: str, dkim_key: DkimKey | None = None) -> bytes:
    """The complete message (CRLF line ends) with RFC 8058 headers, DKIM-signed if configured."""
    content_type, body = _body(email)
    headers = [
        f"From: {mail_from}",
        f"To: {email.recipient}",
        f"Subject: {_header_text(email.subject)}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {email.message_id}",
        "MIME-Version: 1.0",
        f"List-Unsubscribe: <{email.unsubscribe_url}>, <{email.unsubscribe_mailto}>",
        f"List-Unsubscribe-Post: {ONE_CLICK}",
    ]
    head = "\r\n".join(headers).encode() + b"\r\nContent-Type: " + content_type
    if email.html is None:
        head += b"\r\nContent-Transfer-Encoding: quoted-printable"
    message = head + b"\r\n\r\n" + body
    if dkim_key is not None:
        message = dkim_sign(message, dkim_key) + message
    return message


def dkim_sign(message: bytes, key: DkimKey) -> bytes:
    """The ``DKIM-Signature`` header for ``message``, covering both unsubscribe headers."""
    import dkim

    return dkim.sign(
        message,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        include_headers=list(DKIM_HEADERS),
    )
