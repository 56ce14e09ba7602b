"""Tencent Cloud's request signing, TC3-HMAC-SHA256, checked as Tencent documents it.

A client signs a canonical form of its request (method, path, the headers it names, the body's
SHA-256) with a key derived from its SecretKey, the day and a service name; the server rebuilds
that form from the request it received and compares. Nothing here reads a secret from anywhere:
the caller looks the SecretKey up by the SecretId this module parses, and hands it in.

Tencent's own SDKs differ where Tencent's endpoints never tell them apart: the Node.js SDK signs
the host without its port and names the service after the endpoint's first label (``ocr`` only
for ``ocr.tencentcloudapi.com``). Both readings are accepted here, as each still binds the
signature to this request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ocr_api.errors import AuthorizationMalformed, SignatureExpired, SignatureMismatch

ALGORITHM = "TC3-HMAC-SHA256"
# Tencent refuses a timestamp more than five minutes from its clock, either way.
WINDOW_SECONDS = 300
# In X-TC-Content-SHA256: the body is not part of the signature (Tencent's option for large bodies).
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Tencent's API 3.0 always signs "/" and, for POST, an empty query string.
_CANONICAL_URI = "/"
_REQUIRED_SIGNED = ("content-type", "host")
# Unix seconds in ASCII digits: twelve reach the year 33658, and nothing longer is worth a parse.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# The service a credential is scoped to: Tencent's name for OCR, or (as Tencent's Node.js SDK
# names it) the first label of the host the client called.
_OCR_SERVICE = "ocr"
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
        if (
            len(parts) != 4
            or parts[3] != "tc3_request"
            or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[1])
            or not parts[0]
            or not parts[2]
        ):
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
        # str.isdigit() would let through other scripts' digits and numbers too long to convert.
        if not _TIMESTAMP.fullmatch(text):
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
        day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        if authorization.date != day:
            raise SignatureMismatch(
                f"the Credential's date {authorization.date} is not the UTC date of X-TC-Timestamp ({day})"
            )

    def check_service(self, authorization: Authorization) -> None:
        """The credential is scoped to this service: ``ocr``, or the first label of the host
        the request was sent to (which is what Tencent's Node.js SDK signs with)."""
        first_label = self.headers.get("host", "").strip().lower().split(".")[0].split(":")[0]
        if authorization.service not in (_OCR_SERVICE, first_label):
            raise SignatureMismatch(
                f"the Credential is scoped to the service {authorization.service[:40]!r}; sign for 'ocr'"
            )

    def verify(self, authorization: Authorization, secret_key: str) -> None:
        """SignatureMismatch unless ``secret_key`` signs this request as ``authorization`` says."""
        key = signing_key(secret_key, authorization.date, authorization.service)
        # Every reading is computed and compared, so that the time taken does not tell which matched.
        matches = [
            hmac.compare_digest(_hmac(key, text).hex(), authorization.signature)
            for text in self.strings_to_sign(authorization)
        ]
        if not any(matches):
            raise SignatureMismatch(
                "the signature does not match the request; check the SecretKey and "
                "that the request is sent as it was signed"
            )

    def strings_to_sign(self, authorization: Authorization) -> list[str]:
        """What the client signed, in each reading of the host an SDK of Tencent's makes."""
        return [
            "\n".join(
                (
                    ALGORITHM,
                    self.headers.get("x-tc-timestamp", "").strip(),
                    authorization.credential_scope,
                    hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
                )
            )
            for canonical in self.canonical_requests(authorization.signed_headers)
        ]

    def canonical_requests(self, signed_headers: tuple[str, ...]) -> list[str]:
        """The canonical request: header names and values lower case and trimmed, in the order
        SignedHeaders lists them; then again with the host name alone where Host has a port."""
        headers = {name: self.headers[name].strip().lower() for name in signed_headers}
        readings = [headers]
        host, _, port = headers["host"].rpartition(":")
        if port.isdigit() and host:
            readings.append({**headers, "host": host})
        payload_hash = self.payload_hash()  # once: the body may be megabytes
        return [
            "\n".join(
                (
                    self.method.upper(),
                    _CANONICAL_URI,
                    "",
                    "".join(f"{name}:{value}\n" for name, value in reading.items()),
                    ";".join(signed_headers),
                    payload_hash,
                )
            )
            for reading in readings
        ]

    def payload_hash(self) -> str:
        if self.headers.get("x-tc-content-sha256", "").strip() == UNSIGNED_PAYLOAD:
            return hashlib.sha256(UNSIGNED_PAYLOAD.encode()).hexdigest()
        return hashlib.sha256(self.body).hexdigest()


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    """HMAC-SHA256 chained from "TC3" + SecretKey through the date, the service and "tc3_request";
    the signature is this key's HMAC of the string to sign, in hex."""
    key = ("TC3" + secret_key).encode("utf-8")
    for part in (date, service, "tc3_request"):
        key = _hmac(key, part)
    return key


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
