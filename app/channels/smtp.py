"""SMTP: one reusable connection per :class:`SmtpSender`, each message sent in two steps.

:meth:`SmtpSender.stage` transmits envelope and content, :meth:`SmtpSender.commit` sends the
final ``.``, so the worker can durably record "handed over" *between* the two steps: until the
dot is sent the server discards the message if we die, after it the message is the server's.
The message is accepted only when the server answers 250 to the dot; anything else raises.

A connection inside DATA is never ended with ``QUIT``: there it would be one more line of the
message, and waiting for its reply would hang until the timeout. It is closed instead, which
makes the server discard the unfinished message (RFC 5321, section 4.1.1.4).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.utils import parseaddr

from app.channels.errors import PermanentFailure, TransientFailure

_LEADING_DOT = re.compile(rb"(?m)^\.")
#: How long closing an idle connection waits for the reply to ``QUIT``.
QUIT_TIMEOUT_SECONDS = 2.0


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


class SmtpSender:
    """One reusable SMTP connection; each message is staged, then committed with the dot."""

    def __init__(self, settings: SmtpSettings, envelope_from: str) -> None:
        """Prepare (but do not open) a connection with ``settings``."""
        self.settings = settings
        self.envelope_from = parseaddr(envelope_from)[1]
        self._smtp: smtplib.SMTP | None = None
        self._pipelining = False
        self._replies = None  # envelope replies (or their reader) awaiting send_content
        self._in_data = False  # DATA sent, the server's answer to the final dot not read yet

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
            self._in_data = True
            self._replies = self._envelope(smtp, recipient)
        except (OSError, smtplib.SMTPException) as exc:
            self.drop()
            raise TransientFailure(f"SMTP connection lost ({exc.__class__.__name__})") from None

    def send_content(self, message: bytes) -> None:
        """Second half of :meth:`stage`: check the envelope's replies, send the content."""
        assert self._smtp is not None and self._replies is not None, "send_envelope() first"
        smtp, replies, self._replies = self._smtp, self._replies, None
        try:
            if callable(replies):
                replies = replies()
            codes = [code for code, _text in replies]
            if codes != [250, 250, 354]:
                if codes[-1] == 354:  # reading a message all the same: only closing ends it
                    self.drop()
                else:
                    self._reset()
                refused = next(c for c, ok in zip(codes, (250, 250, 354), strict=True) if c != ok)
                _raise_for(refused, "the SMTP relay refused the envelope")
            data = _LEADING_DOT.sub(b"..", message)
            smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            self.drop()
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
        """Send the final dot; the server takes the message when it answers 250 to it."""
        assert self._smtp is not None, "stage() first"
        try:
            self._smtp.send(b".\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            self.drop()
            raise TransientFailure(f"SMTP connection lost ({exc.__class__.__name__})") from None

    def confirm(self) -> None:
        """Read the server's reply to the dot; raises unless it accepted the message (250).

        No reply at all (the connection was cut, or timed out) raises
        :class:`TransientFailure`: the message was not accepted as far as anyone can show.
        """
        assert self._smtp is not None, "stage() first"
        try:
            code, _text = self._smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self.drop()
            raise TransientFailure(
                f"SMTP connection lost before the relay accepted the message "
                f"({exc.__class__.__name__})"
            ) from None
        self._in_data = False
        if code != 250:
            _raise_for(code, "the SMTP relay refused the message")

    def abort(self) -> None:
        """Give up a staged message: drop the connection so the server discards it."""
        self.drop()

    def _reset(self) -> None:
        self._in_data = False  # the envelope was refused: the server is not reading a message
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.drop()

    def drop(self) -> None:
        """Close the socket at once, without a word to the server (which discards any message
        it was receiving)."""
        smtp, self._smtp, self._replies, self._in_data = self._smtp, None, None, False
        if smtp is not None:
            smtp.close()

    def close(self) -> None:
        """Close the connection: ``QUIT`` between messages (waiting at most a few seconds for
        its reply), a plain close in the middle of one."""
        if self._in_data or self._smtp is None:
            self.drop()
            return
        smtp, self._smtp, self._replies = self._smtp, None, None
        try:
            if smtp.sock is not None:
                smtp.sock.settimeout(QUIT_TIMEOUT_SECONDS)
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _raise_for(code: int, what: str) -> None:
    if 500 <= code < 600:
        raise PermanentFailure(f"{what} (SMTP {code})", code)
    raise TransientFailure(f"{what} (SMTP {code})", code)
