"""Test helpers (and their own test): assert that an error, repr or text does not reveal secrets."""

from __future__ import annotations

import base64
import traceback


def secret_forms(secret: bytes | str) -> list[str]:
    """The ways a secret could show up in text: raw, hex, base64 (standard and URL-safe)."""
    if isinstance(secret, str):
        return [secret, repr(secret)[1:-1]]
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode()[:40],
        base64.urlsafe_b64encode(secret).decode()[:40],
        repr(secret)[2:-1],
    ]


def assert_no_secret(subject: object, secrets: list[bytes] | list[str]) -> None:
    """Fail if ``subject`` (an exception with its whole chain, or any object) leaks a secret."""
    if isinstance(subject, BaseException):
        text = "".join(traceback.format_exception(subject, chain=True)) + repr(subject)
        cause = subject.__cause__ or subject.__context__
        while cause is not None:
            text += repr(cause) + repr(cause.args)
            cause = cause.__cause__ or cause.__context__
    else:
        text = subject if isinstance(subject, str) else repr(subject)
    for secret in secrets:
        for form in secret_forms(secret):
            if len(form) >= 4:
                assert form not in text, "a secret appears in the text"


def test_the_leak_check_catches_hex_and_base64_forms() -> None:
    key = bytes(range(32))
    for form in secret_forms(key)[:4]:
        try:
            assert_no_secret(ValueError(f"oops {form}"), [key])
        except AssertionError:
            continue
        raise AssertionError("the leak check missed a form")
