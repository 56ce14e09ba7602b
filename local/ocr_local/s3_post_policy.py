"""S3's own checks of a browser-form upload (POST Object with a signed policy), in front of the
embedded moto server, which stores such uploads without checking anything.

What S3 checks, as its documentation for POST policies (Signature Version 4) describes: the
signature over the base64 policy, made with the signing key of the credential the form names;
the policy's expiration; that every form field (other than the signature, the policy, the file
and ``x-ignore-*`` fields) is allowed by a condition, and that every condition holds: exact
matches, ``starts-with`` prefixes, the bucket, and ``content-length-range`` on the file's size.
A refused upload gets S3's XML error with S3's status; the bucket is left as it was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import multipart

# Form fields that no condition needs to name.
_UNCONDITIONED = {"x-amz-signature", "policy", "file"}


class PostRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def checking_post_policies(app: Callable, secret_for: Callable[[str], str | None]) -> Callable:
    """``app`` (a WSGI application serving S3) behind S3's checks of form uploads;
    ``secret_for`` gives the secret access key of an access key id (None: unknown)."""

    def checked(environ, start_response):
        if not _is_form_upload(environ):
            return app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        bucket = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
        try:
            fields, file_size = _form(environ, body)
            check_post(fields, file_size, bucket, secret_for, datetime.now(UTC))
        except PostRefused as refused:
            document = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{refused.code}</Code><Message>{escape(refused.message)}</Message></Error>"
            ).encode()
            start_response(
                f"{refused.status} {_REASONS[refused.status]}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(document)))],
            )
            return [document]
        environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return checked


def check_post(
    fields: dict[str, str],
    file_size: int,
    bucket: str,
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> None:
    """Raises ``PostRefused`` where S3 would refuse the form; ``fields`` by lower-case name."""
    if "policy" not in fields or "x-amz-signature" not in fields:
        raise PostRefused(403, "AccessDenied", "Bucket POST must contain a policy and a signature")
    _check_signature(fields, secret_for)
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        conditions = policy["conditions"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise PostRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if now > expiration:
        raise PostRefused(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    allowed = set()
    for condition in conditions:
        allowed |= _check_condition(condition, fields, file_size, bucket)
    extra = sorted(name for name in fields if name not in allowed | _UNCONDITIONED and not name.startswith("x-ignore-"))
    if extra:
        raise PostRefused(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def _check_signature(fields: dict[str, str], secret_for: Callable[[str], str | None]) -> None:
    access_key, _, scope = fields.get("x-amz-credential", "").partition("/")
    date, region, service, terminal = (scope.split("/") + ["", "", "", ""])[:4]
    secret = secret_for(access_key)
    if secret is None:
        raise PostRefused(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records")
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["x-amz-signature"]):
        raise PostRefused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )


def _check_condition(condition, fields: dict[str, str], file_size: int, bucket: str) -> set[str]:
    """Checks one condition; the form fields it allows."""
    if isinstance(condition, dict) and len(condition) == 1:
        [(name, value)] = condition.items()
        condition = ["eq", f"${name}", value]
    if not isinstance(condition, list) or len(condition) != 3:
        raise PostRefused(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition!r}")
    operator, target, value = condition
    if operator == "content-length-range":
        if file_size < int(target):
            raise PostRefused(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
        if file_size > int(value):
            raise PostRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        return set()
    name = str(target).lstrip("$").lower()
    actual = bucket if name == "bucket" else fields.get(name)
    holds = actual is not None and (actual == value if operator == "eq" else actual.startswith(str(value)))
    if operator not in ("eq", "starts-with") or not holds:
        failed = f'["{operator}", "{target}", "{value}"]'
        raise PostRefused(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {failed}")
    return {name}


def _is_form_upload(environ) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data")
        and "HTTP_AUTHORIZATION" not in environ
        and environ.get("PATH_INFO", "/").strip("/").count("/") == 0
    )


def _form(environ, body: bytes) -> tuple[dict[str, str], int]:
    """The form's fields by lower-case name, as far as the file (S3 ignores what follows it),
    and the file's size."""
    _, options = multipart.parse_options_header(environ.get("CONTENT_TYPE", ""))
    fields: dict[str, str] = {}
    try:
        parser = multipart.MultipartParser(io.BytesIO(body), options.get("boundary", ""), len(body))
        for part in parser:
            if part.name.lower() == "file":
                return fields, part.size
            fields[part.name.lower()] = part.value
    except multipart.MultipartError:
        pass
    raise PostRefused(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart")


_REASONS = {400: "Bad Request", 403: "Forbidden"}
