"""The development mailbox: a local SMTP server that keeps what it receives, for the web page.

DEVELOPMENT ONLY. Messages (which contain personal data) are written as ``.eml`` files to a
folder (``instance/mailbox/`` by default) so the web page can read what the SMTP server
stored even in another process; only the newest :data:`KEEP` are kept.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

KEEP = 500
_NAME = re.compile(r"\d{19}-[0-9a-f]{32}\.eml")
_UNSUBSCRIBE_URL = re.compile(r"<(https?://[^>]+)>")


@dataclass(frozen=True, slots=True)
class StoredSummary:
    """One stored message as listed: file name and main headers."""

    name: str
    sender: str
    recipient: str
    subject: str
    date: str
    message_id: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One stored message as shown: headers, text and HTML bodies, unsubscribe link."""

    summary: StoredSummary
    headers: list[tuple[str, str]]
    text: str
    html: str | None
    unsubscribe_url: str | None


class MailboxStore:
    """The folder of received messages."""

    def __init__(self, folder: Path | str, keep: int = KEEP) -> None:
        """Use ``folder`` (created on first store), keeping the newest ``keep`` messages."""
        self.folder = Path(folder)
        self.keep = keep

    def store(self, content: bytes) -> str:
        """Write one received message atomically; returns its name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():019d}-{uuid.uuid4().hex}.eml"
        partial = self.folder / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.folder / name)
        self._prune()
        return name

    def names(self) -> list[str]:
        """Stored message names, newest first."""
        if not self.folder.is_dir():
            return []
        return sorted(
            (p.name for p in self.folder.iterdir() if _NAME.fullmatch(p.name)), reverse=True
        )

    def _prune(self) -> None:
        for name in self.names()[self.keep :]:
            (self.folder / name).unlink(missing_ok=True)

    def summaries(self, limit: int = 200) -> list[StoredSummary]:
        """The newest ``limit`` messages' headers."""
        parser = BytesHeaderParser(policy=policy.default)
        found = []
        for name in self.names()[:limit]:
            try:
                with open(self.folder / name, "rb") as handle:
                    found.append(_summary(name, parser.parse(handle)))
            except FileNotFoundError:
                continue
        return found

    def read(self, name: str) -> StoredMessage | None:
        """One message by name; ``None`` when the name is malformed or gone."""
        if not _NAME.fullmatch(name):
            return None
        try:
            raw = (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        return StoredMessage(
            summary=_summary(name, message),
            headers=[(key, str(value)) for key, value in message.items()],
            text=_part(message, "plain") or "",
            html=_part(message, "html"),
            unsubscribe_url=_first_url(str(message.get("List-Unsubscribe", ""))),
        )


def _summary(name: str, message) -> StoredSummary:
    def header(key: str) -> str:
        return str(message.get(key, ""))

    return StoredSummary(
        name, header("From"), header("To"), header("Subject"), header("Date"), header("Message-ID")
    )


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else None


def _first_url(value: str) -> str | None:
    match = _UNSUBSCRIBE_URL.search(value)
    return match.group(1) if match else None


class StoringHandler:
    """aiosmtpd handler: accept every message and store it."""

    def __init__(self, store: MailboxStore) -> None:
        """Store into ``store``."""
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:
        """Store the message, then accept it (stored before the 250, like a real MTA)."""
        self.store.store(envelope.original_content or envelope.content)
        return "250 OK stored"


def start_mailbox_server(store: MailboxStore, host: str, port: int):
    """Start the SMTP server in a background thread; returns the aiosmtpd controller."""
    from aiosmtpd.controller import Controller

    controller = Controller(StoringHandler(store), hostname=host, port=port)
    controller.start()
    return controller
