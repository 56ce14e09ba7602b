"""Tencent-style credentials: SecretId/SecretKey pairs that sign requests on an appkey's behalf.

The server must recompute each signature, so a SecretKey cannot be kept as a hash as appkeys
are: it is kept sealed (encrypted with a key the ``SecretCipher`` holds, bound to its SecretId)
and opened only to check a signature.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ocr_api.keys.model import KeyStatus

# Tencent's SecretIds are "AKID" and 32 letters and digits; SecretKeys are 32 of them.
SECRET_ID_PREFIX = "AKID"
_ALPHABET = string.ascii_letters + string.digits
_SECRET_ID = re.compile(SECRET_ID_PREFIX + "[A-Za-z0-9]{32}")


def new_secret_id() -> str:
    return SECRET_ID_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def is_secret_id(text: str) -> bool:
    """Whether ``text`` has the form of the SecretIds this service issues."""
    return _SECRET_ID.fullmatch(text) is not None


def new_secret_key() -> str:
    """190 random bits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(32))


@dataclass(frozen=True)
class SigningCredential:
    secret_id: str
    # The appkey the pair acts for: its plan, limits, quota and usage are the pair's.
    key_hash: str
    # The SecretKey, encrypted so that it opens only under this SecretId.
    sealed_secret: bytes
    status: KeyStatus
    created_at: datetime

    @classmethod
    def issued(cls, secret_id: str, key_hash: str, sealed_secret: bytes) -> SigningCredential:
        return cls(secret_id, key_hash, sealed_secret, KeyStatus.ACTIVE, datetime.now(UTC))


def issue(key_hash: str, cipher: SecretCipher) -> tuple[SigningCredential, str]:
    """A new pair for the key: its record, the SecretKey sealed in it, and the SecretKey itself,
    to be shown once and then forgotten."""
    secret_id, secret_key = new_secret_id(), new_secret_key()
    return SigningCredential.issued(secret_id, key_hash, cipher.seal(secret_id, secret_key)), secret_key


class SecretCipher(Protocol):
    """Seals and opens SecretKeys; a sealed secret opens only with the SecretId it was sealed for."""

    def seal(self, secret_id: str, secret_key: str) -> bytes: ...

    def open(self, secret_id: str, sealed: bytes, deadline: float | None = None) -> str: ...
