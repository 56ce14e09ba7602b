"""What an appkey is. The secret itself is never stored: only its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from ocr_api.keys.plans import DEFAULT_PLAN

KEY_ID_LENGTH = 12


class KeyStatus(str, Enum):
    ACTIVE = "active"
    DISABLED = "disabled"


def new_appkey() -> str:
    """A fresh secret: 128 random bits as 32 hex characters."""
    return secrets.token_hex(16)


def hash_appkey(appkey: str) -> str:
    return hashlib.sha256(appkey.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AppKey:
    key_hash: str
    name: str
    status: KeyStatus
    created_at: datetime
    # The plan that sets the key's rate limit and quota.
    plan: str = DEFAULT_PLAN
    expires_at: datetime | None = None
    # Empty means every API; otherwise the API names (e.g. "gugudata-v1") the key may call.
    allowed_apis: frozenset[str] = field(default_factory=frozenset)
    # The API Gateway API key with the same secret, when the plan has a usage plan.
    gateway_key_id: str | None = None

    @classmethod
    def for_secret(
        cls,
        secret: str,
        name: str,
        *,
        plan: str = DEFAULT_PLAN,
        status: KeyStatus = KeyStatus.ACTIVE,
        expires_at: datetime | None = None,
        allowed_apis: frozenset[str] = frozenset(),
        gateway_key_id: str | None = None,
    ) -> AppKey:
        """The record of a newly issued key; it holds the secret's hash, never the secret."""
        return cls(
            key_hash=hash_appkey(secret),
            name=name,
            status=status,
            created_at=datetime.now(UTC),
            plan=plan,
            expires_at=expires_at,
            allowed_apis=allowed_apis,
            gateway_key_id=gateway_key_id,
        )

    @property
    def key_id(self) -> str:
        """A public handle for operators: a prefix of the hash, useless for calling the API."""
        return self.key_hash[:KEY_ID_LENGTH]

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def allows(self, api: str) -> bool:
        return not self.allowed_apis or api in self.allowed_apis


def utc_now() -> datetime:
    return datetime.now(UTC)
