"""Tencent Cloud's request signing, TC3-HMAC-SHA256, checked as Tencent documents it.

A client signs a canonical form of its request (method, path, the headers it names, the body's
SHA-256) with a key derived from its SecretKey and the day; the server rebuilds that form from
the request it received and compares. Nothing here reads a secret from anywhere: the caller
looks the SecretKey up by the SecretId this module parses, and hands it in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from ocr_api.errors import AuthorizationMalformed, SignatureExpired, SignatureMismatch

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "ocr"
# Tencent refuses a timestamp more than five minutes from its clock, either way.
WINDOW_SECONDS = 300
# In X-TC-Content-SHA256: the body is not part of the signature (Tencent's option for large bodies).
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Tencent's API 3.0 always signs "/" and, for POST, an empty query string.
_CANONICAL_URI = "/"
_REQUIRED_SIGNED = ("content-type", "host")
_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-fA-F]{64})\s*$"
)


@dataclass(frozen=True)
class Authorization:
    """The parts of an ``Authorization: TC3-HMAC-SHA256 ...`` header."""

    secret_id: str
    date: str  # YYYY-MM-DD, UTC
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def credential_scope(self) -> str:
        return f"{self.date}/{self.service}/tc3_request"


@dataclass(frozen=True)
class SignedRequest:
    """A request as its signature covers it: the method, every header (names in lower case)
    and the body's bytes exactly as received."""

    method: str
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def received(cls, method: str, headers: Mapping[str, str], body: bytes) -> SignedRequest:
        """The request as it arrived, its header names in any case (HTTP's are case-blind)."""
        return cls(method, {name.lower(): value for name, value in headers.items()}, body)

    def authorization(self) -> Authorization:
        """The Authorization header's parts; AuthorizationMalformed when it is not TC3's form."""
        match = _AUTHORIZATION.match(self.headers.get("authorization", "").strip())
        if match is None:
            raise AuthorizationMalformed(
                "the Authorization header is not in the form 'TC3-HMAC-SHA256 Credential=SecretId/"
                "Date/ocr/tc3_request, SignedHeaders=content-type;host, Signature=...'"
            )
        parts = match["credential"].split("/")
        if len(parts) != 4 or parts[3] != "tc3_request" or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[1]):
            raise AuthorizationMalformed("the Credential in Authorization is not SecretId/Date/Service/tc3_request")
        signed = tuple(match["signed"].split(";"))
        missing = [name for name in _REQUIRED_SIGNED if name not in signed]
        if missing:
            raise AuthorizationMalformed(f"SignedHeaders must include {' and '.join(missing)}")
        unsent = [name for name in signed if name not in self.headers]
        if unsent:
            raise AuthorizationMalformed(f"the signed header {unsent[0]!r} is not in the request")
        return Authorization(parts[0], parts[1], parts[2], signed, match["signature"].lower())

    def timestamp(self) -> int:
        text = self.headers.get("x-tc-timestamp", "").strip()
        if not text.isdigit():
            raise AuthorizationMalformed("X-TC-Timestamp must be the request's Unix time in seconds")
        return int(text)

    def check_time(self, authorization: Authorization, now: float) -> None:
        """The signature is fresh: its timestamp within the window, its date that timestamp's day."""
        timestamp = self.timestamp()
        if abs(now - timestamp) > WINDOW_SECONDS:
            raise SignatureExpired(
                f"X-TC-Timestamp is {int(now - timestamp)} s from the server's clock; a signature is "
                f"accepted within {WINDOW_SECONDS} s of it"
            )
        day = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
        if authorization.date != day:
            raise SignatureMismatch(
                f"the Credential's date {authorization.date} is not the UTC date of X-TC-Timestamp ({day})"
            )

    def verify(self, authorization: Authorization, secret_key: str) -> None:
        """SignatureMismatch unless ``secret_key`` signs this request as ``authorization`` says."""
        if authorization.service != SERVICE:
            raise SignatureMismatch(f"the Credential names the service {authorization.service[:20]!r}; "
                                    f"this is {SERVICE!r}")
        expected = sign(secret_key, authorization.date, self.string_to_sign(authorization))
        if not hmac.compare_digest(expected, authorization.signature):
            raise SignatureMismatch("the signature does not match the request; check the SecretKey and "
                                    "that the request is sent as it was signed")

    def string_to_sign(self, authorization: Authorization) -> str:
        canonical = self.canonical_request(authorization.signed_headers)
        return "\n".join((
            ALGORITHM,
            self.headers.get("x-tc-timestamp", "").strip(),
            authorization.credential_scope,
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        ))

    def canonical_request(self, signed_headers: tuple[str, ...]) -> str:
        # Header names and values lower case and trimmed, in the order SignedHeaders lists them.
        headers = "".join(f"{name}:{self.headers[name].strip().lower()}\n" for name in signed_headers)
        return "\n".join((
            self.method.upper(), _CANONICAL_URI, "", headers, ";".join(signed_headers), self.payload_hash()
        ))

    def payload_hash(self) -> str:
        if self.headers.get("x-tc-content-sha256", "").strip() == UNSIGNED_PAYLOAD:
            return hashlib.sha256(UNSIGNED_PAYLOAD.encode()).hexdigest()
        return hashlib.sha256(self.body).hexdigest()


def sign(secret_key: str, date: str, string_to_sign: str) -> str:
    """The signature: HMAC-SHA256 chained from "TC3" + SecretKey through the date, the service and
    "tc3_request", then over the string to sign, in hex."""
    key = ("TC3" + secret_key).encode("utf-8")
    for part in (date, SERVICE, "tc3_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
