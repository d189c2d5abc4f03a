"""E-mail: RFC 5322 messages with RFC 8058 one-click unsubscribe, optional DKIM, and SMTP.

:class:`SmtpSender` keeps one SMTP connection open across a batch and splits each send in two
(:meth:`SmtpSender.stage` transmits envelope and content, :meth:`SmtpSender.commit` sends the
final ``.``) so the worker can durably record "handed over" *between* the two steps: until the
dot is sent the server discards the message if we die, after it the message is the server's.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, parseaddr

from app.channels.errors import PermanentFailure, TransientFailure

_LEADING_DOT = re.compile(rb"(?m)^\.")
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
class SmtpSettings:
    """Where and how to relay: host, port, ``none|starttls|ssl``, optional login, timeout."""

    host: str
    port: int
    security: str = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r})"


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


class SmtpSender:
    """One reusable SMTP connection; each message is staged, then committed with the dot."""

    def __init__(self, settings: SmtpSettings, envelope_from: str) -> None:
        """Prepare (but do not open) a connection with ``settings``."""
        self.settings = settings
        self.envelope_from = parseaddr(envelope_from)[1]
        self._smtp: smtplib.SMTP | None = None
        self._pipelining = False
        self._replies = None  # envelope replies (or their reader) awaiting send_content

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure("SMTP authentication was refused", exc.smtp_code) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientFailure(f"SMTP relay unreachable ({exc.__class__.__name__})") from None
        self._pipelining = smtp.has_extn("pipelining")
        # The dot is a tiny write after the content: without NODELAY, Nagle's algorithm holds
        # it until the server's (delayed) ACK, costing milliseconds per message.
        if smtp.sock is not None:
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return smtp

    def stage(self, recipient: str, message: bytes) -> None:
        """Send envelope and content, all but the final dot; nothing is delivered yet."""
        self.send_envelope(recipient)
        self.send_content(message)

    def send_envelope(self, recipient: str) -> None:
        """First half of :meth:`stage`: MAIL, RCPT and DATA, pipelined when the server allows.

        The replies are read by :meth:`send_content`, so a dispatcher can send the envelopes of
        a whole wave before waiting for any server (one round trip per wave, not per message).
        """
        if self._smtp is None:
            self._smtp = self._open()
        smtp = self._smtp
        try:
            self._replies = self._envelope(smtp, recipient)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientFailure(f"SMTP connection lost ({exc.__class__.__name__})") from None

    def send_content(self, message: bytes) -> None:
        """Second half of :meth:`stage`: check the envelope's replies, send the content."""
        assert self._smtp is not None and self._replies is not None, "send_envelope() first"
        smtp, replies, self._replies = self._smtp, self._replies, None
        try:
            if callable(replies):
                replies = replies()
            for (code, _text), expected in zip(replies, (250, 250, 354), strict=True):
                if code != expected:
                    self._reset()
                    _raise_for(code, "the SMTP relay refused the envelope")
            data = _LEADING_DOT.sub(b"..", message)
            smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientFailure(f"SMTP connection lost ({exc.__class__.__name__})") from None

    def _envelope(self, smtp: smtplib.SMTP, recipient: str):
        """Replies of the envelope commands, or (pipelining) a function that reads them."""
        commands = [f"MAIL FROM:<{self.envelope_from}>", f"RCPT TO:<{recipient}>", "DATA"]
        if self._pipelining:
            smtp.send("".join(c + "\r\n" for c in commands).encode())
            return lambda: [smtp.getreply() for _ in commands]
        replies = []
        for command in commands:
            smtp.putcmd(command)
            replies.append(smtp.getreply())
            if replies[-1][0] >= 400:
                break
        return replies + [(0, b"")] * (len(commands) - len(replies))

    def commit(self) -> None:
        """Send the final dot and wait for the reply (:meth:`send_dot` + :meth:`confirm`)."""
        self.send_dot()
        self.confirm()

    def send_dot(self) -> None:
        """Send the final dot: from here the message belongs to the server."""
        assert self._smtp is not None, "stage() first"
        try:
            self._smtp.send(b".\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientFailure(f"SMTP connection lost ({exc.__class__.__name__})") from None

    def confirm(self) -> None:
        """Read the server's reply to the dot; raises unless it accepted the message."""
        assert self._smtp is not None, "stage() first"
        try:
            code, _text = self._smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientFailure(f"SMTP connection lost ({exc.__class__.__name__})") from None
        if code != 250:
            _raise_for(code, "the SMTP relay refused the message")

    def abort(self) -> None:
        """Give up a staged message: drop the connection so the server discards it."""
        self.close()

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        """Close the connection (politely if possible)."""
        smtp, self._smtp, self._replies = self._smtp, None, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (TimeoutError, OSError, smtplib.SMTPException):
            smtp.close()


def _raise_for(code: int, what: str) -> None:
    if 500 <= code < 600:
        raise PermanentFailure(f"{what} (SMTP {code})", code)
    raise TransientFailure(f"{what} (SMTP {code})", code)
