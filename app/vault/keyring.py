"""Versioned 256-bit keys supplied by configuration.

One ``KeyRing`` holds the key-encryption keys (KEKs) that wrap customers' data keys; another,
built the same way, holds the blind-index keys.  The configuration format is::

    "1:<base64 of 32 bytes>, 2:<base64 of 32 bytes>"

Entries are separated by commas; whitespace (including newlines) around entries, versions
and keys is ignored.  The highest version is *active* (used for new wraps and new blind
indexes) unless an explicit active version is given; older versions still decrypt until they
are removed from the configuration (*retired*).

Nothing here ever puts key material into a message, ``repr`` or ``str``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterator, Mapping
from typing import NoReturn

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.vault.errors import KeyConfigError, KeyUnavailableError

KEY_BYTES = 32
MAX_VERSION = 2**31 - 1


class KeyRing:
    """An immutable set of versioned 32-byte keys with one active version."""

    __slots__ = ("_active", "_aead", "_keys")

    def __init__(self, keys: Mapping[int, bytes], active_version: int | None = None) -> None:
        """Check and hold ``keys`` (version -> 32 bytes); see ``parse`` for the text form."""
        if not keys:
            raise KeyConfigError("the key ring is empty: configure at least one key")
        checked: dict[int, bytes] = {}
        for version, key in keys.items():
            _check_version(version)
            checked[version] = _check_key(version, key)
        active = max(checked) if active_version is None else active_version
        _check_version(active)
        if active not in checked:
            raise KeyConfigError(f"active key version {active} is not in the key ring")
        self._keys = checked
        self._active = active
        self._aead: dict[int, AESGCM] = {}

    @classmethod
    def parse(cls, text: str, active_version: int | None = None) -> KeyRing:
        """Build a key ring from ``"1:<base64>,2:<base64>"`` configuration text."""
        if not isinstance(text, str) or not text.strip():
            raise KeyConfigError("the key ring configuration is empty: configure at least one key")
        keys: dict[int, bytes] = {}
        for position, entry in enumerate(_entries(text), start=1):
            version_text, sep, key_text = entry.partition(":")
            if not sep:
                raise KeyConfigError(
                    f"key entry #{position} is not of the form <version>:<base64 key>"
                )
            version = _parse_version(version_text.strip(), position)
            if version in keys:
                raise KeyConfigError(f"key version {version} appears more than once")
            keys[version] = _decode_key(version, key_text)
        return cls(keys, active_version)

    @staticmethod
    def generate_config(version: int = 1) -> str:
        """Return a fresh random ``"<version>:<base64>"`` entry (for development and rotation)."""
        _check_version(version)
        key = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
        return f"{version}:{key}"

    @property
    def active_version(self) -> int:
        """The version used for new wraps and new blind indexes."""
        return self._active

    @property
    def versions(self) -> tuple[int, ...]:
        """All versions in the ring, ascending."""
        return tuple(sorted(self._keys))

    def key(self, version: int) -> bytes:
        """Return the key of ``version`` or raise ``KeyUnavailableError``."""
        try:
            return self._keys[version]
        except KeyError:
            raise _unavailable(version) from None

    @property
    def active_key(self) -> bytes:
        """The key of the active version."""
        return self._keys[self._active]

    def aesgcm(self, version: int) -> AESGCM:
        """Return a cached AES-GCM instance keyed with ``version`` (for wrapping data keys)."""
        aead = self._aead.get(version)
        if aead is None:
            aead = self._aead[version] = AESGCM(self.key(version))
        return aead

    def with_key(self, version: int, key: bytes, *, activate: bool = True) -> KeyRing:
        """Return a new ring with ``key`` added as ``version`` (made active unless told not to)."""
        if version in self._keys:
            raise KeyConfigError(f"key version {version} is already in the key ring")
        keys = {**self._keys, version: key}
        return KeyRing(keys, version if activate else self._active)

    def retire(self, version: int) -> KeyRing:
        """Return a new ring without ``version``; the active version cannot be retired."""
        if version not in self._keys:
            raise _unavailable(version)
        if version == self._active:
            raise KeyConfigError(f"key version {version} is active and cannot be retired")
        return KeyRing({v: k for v, k in self._keys.items() if v != version}, self._active)

    def __contains__(self, version: object) -> bool:
        return version in self._keys

    def __iter__(self) -> Iterator[int]:
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(versions={list(self.versions)}, active_version={self._active})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        # Pickling would copy key material into job stores or caches; refuse it.
        raise TypeError("KeyRing objects hold key material and cannot be pickled")


def _entries(text: str) -> Iterator[str]:
    """Yield the non-blank comma-separated entries of a configuration string."""
    for entry in text.split(","):
        if entry.strip():
            yield entry


def _parse_version(text: str, position: int) -> int:
    """Parse a version number; the message names the entry, never its text."""
    if not text.isascii() or not text.isdigit():
        raise KeyConfigError(f"key entry #{position} has a version that is not a positive integer")
    version = int(text)
    _check_version(version)
    return version


def _decode_key(version: int, text: str) -> bytes:
    """Decode standard or URL-safe base64 (whitespace ignored) to exactly 32 bytes."""
    compact = "".join(text.split())
    if not compact:
        raise KeyConfigError(f"key version {version} has no key after the colon")
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"key version {version} is not valid base64") from None
    return _check_key(version, key)


def _check_version(version: object) -> None:
    """Versions are integers from 1 to 2**31 - 1 (they are bound into ciphertexts)."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise KeyConfigError("key versions must be integers")
    if not 1 <= version <= MAX_VERSION:
        raise KeyConfigError(f"key version {version} is out of range (1..{MAX_VERSION})")


def _check_key(version: int, key: object) -> bytes:
    """Keys are exactly 32 bytes and not all zero (a placeholder left in a config file)."""
    if not isinstance(key, bytes | bytearray):
        raise KeyConfigError(f"key version {version} must be bytes")
    if len(key) != KEY_BYTES:
        raise KeyConfigError(f"key version {version} must be {KEY_BYTES} bytes, got {len(key)}")
    if not any(key):
        raise KeyConfigError(f"key version {version} is all zero bytes; generate a real key")
    return bytes(key)


def _unavailable(version: int) -> KeyUnavailableError:
    """The error for a version that is not (or no longer) configured."""
    return KeyUnavailableError(
        f"key version {version} is not in the key ring (never configured, or retired)",
        version=version,
    )
