"""The encrypted profile vault: field catalogue, key rings, envelope encryption, blind index.

This package's core is pure (no Flask, no database):

- ``fields``: the profile fields the platform may hold and their validation;
- ``keyring``: versioned 32-byte keys from configuration (KEKs and blind-index keys);
- ``envelope``: one AES-256-GCM data key per customer, wrapped under the active KEK, sealing
  each field with AAD bound to customer and field;
- ``blind_index``: keyed HMAC-SHA256 tokens for looking customers up by e-mail address.

Importing ``app.vault`` does not import the database models (``app.vault.models``).
"""

from app.vault.blind_index import (
    blind_index,
    blind_index_candidates,
    blind_index_version,
    normalise_email,
)
from app.vault.envelope import (
    FieldCipher,
    WrappedKey,
    data_key_id,
    decrypt_field,
    encrypt_field,
    needs_rewrap,
    new_data_key,
    rewrap_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from app.vault.errors import (
    DecryptionError,
    FieldValidationError,
    KeyConfigError,
    KeyUnavailableError,
    UnknownFieldError,
    VaultError,
)
from app.vault.fields import FIELDS, SUPPORTED_LANGUAGES, FieldSpec, FieldType, field_spec
from app.vault.keyring import KeyRing

__all__ = [
    "FIELDS",
    "SUPPORTED_LANGUAGES",
    "DecryptionError",
    "FieldCipher",
    "FieldSpec",
    "FieldType",
    "FieldValidationError",
    "KeyConfigError",
    "KeyRing",
    "KeyUnavailableError",
    "UnknownFieldError",
    "VaultError",
    "WrappedKey",
    "blind_index",
    "blind_index_candidates",
    "blind_index_version",
    "data_key_id",
    "decrypt_field",
    "encrypt_field",
    "field_spec",
    "needs_rewrap",
    "new_data_key",
    "normalise_email",
    "rewrap_data_key",
    "unwrap_data_key",
    "wrap_data_key",
]
