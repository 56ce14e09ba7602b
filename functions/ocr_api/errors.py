"""The service's one error hierarchy.

Every error a client can be shown is a ``ServiceError``. It knows its HTTP status and carries a
description that is safe to show: it names the field or the limit, never a path, a secret or a
trace. Each API dialect maps these classes to its own business codes in one place.
"""

from __future__ import annotations


class ServiceError(Exception):
    http_status = 500
    # How many of the request's pages were read before this error ended it: their calls are
    # kept even where the error gives the others back (set by whoever read the pages).
    pages_read = 0

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    @property
    def refunded(self) -> bool:
        """Whether a call ending in this error gets its charge back: our failures do; a request
        the client got wrong does not, the work having been asked for."""
        return self.http_status >= 500

    def as_json(self) -> dict[str, str]:
        """The error as it crosses from a page worker or a function to the handler: its kind
        (the class's name) and its description."""
        return {"kind": type(self).__name__, "description": self.description}


class InvalidRequest(ServiceError):
    """The request cannot be read: a field is missing, empty, duplicated, unknown or malformed."""

    http_status = 400


class EmptyImage(InvalidRequest):
    """The image field is there but holds no bytes."""


class UnsupportedContentType(ServiceError):
    """The request body comes in a Content-Type the endpoint does not read."""

    http_status = 415


class ImageTooLarge(ServiceError):
    http_status = 413


class ImageTooManyBytes(ImageTooLarge):
    """Over the byte limit, uploaded or downloaded."""


class ImageTooManyPixels(ImageTooLarge):
    """Over the pixel limit, a side longer than Tesseract reads, or a shape too elongated to hold
    a line of text."""


class ImageNeedsTooMuchMemory(ImageTooLarge):
    """Decoding stopped at the worker's memory cap: a page built to cost far more than its size."""

    @property
    def refunded(self) -> bool:
        return True  # stopped before any result, like work stopped for time


class UnsupportedImage(ServiceError):
    """Not an image in a supported format, or bytes that do not decode."""

    http_status = 415


class AppKeyMissing(ServiceError):
    http_status = 401


class AppKeyUnknown(ServiceError):
    http_status = 401


class SignatureRejected(AppKeyUnknown):
    """A signed request (TC3-HMAC-SHA256) that does not prove its caller holds a live credential:
    to a dialect without its own codes for these, an unknown key."""


class AuthorizationMalformed(SignatureRejected):
    """The Authorization header, or a header it needs, is missing or not in the scheme's form."""


class SignatureMismatch(SignatureRejected):
    """The signature is not the one the credential's secret gives for this request."""


class SignatureExpired(SignatureRejected):
    """The request's timestamp is outside the window a signature is accepted in."""


class SecretIdUnknown(SignatureRejected):
    """No live credential has this SecretId: never issued, disabled or deleted."""


class AppKeyForbidden(ServiceError):
    """The key exists but is disabled, expired, or not allowed on this API."""

    http_status = 403


class RateLimited(ServiceError):
    http_status = 429


class QuotaExceeded(ServiceError):
    """The key has used all the requests its quota allows."""

    http_status = 429


class NoTextFound(ServiceError):
    """The image holds no text, where a dialect answers that with an error, not an empty list."""

    http_status = 422


class RecognitionFailed(ServiceError):
    """Tesseract ran and failed: a crash, a non-zero exit, or no output."""

    http_status = 500


class RecognitionUnavailable(ServiceError):
    """Tesseract cannot be run at all right now."""

    http_status = 503


class RecognitionTimedOut(RecognitionUnavailable):
    """Recognition did not finish within the time left for the request."""


class DownloadFailed(ServiceError):
    """An image URL could not be fetched: no answer, an error status, too slow, too many hops."""

    http_status = 502


class KeyStoreUnavailable(ServiceError):
    http_status = 503


class UploadNotFound(ServiceError):
    """No upload of the caller's key has this id: never uploaded, removed, or another key's."""

    http_status = 404

    @property
    def refunded(self) -> bool:
        return True  # nothing was there to read, as with an image URL that cannot be fetched


class UploadExpired(UploadNotFound):
    """The upload is older than uploads are kept for."""

    http_status = 410


class JobNotFound(ServiceError):
    """No job of the caller's key has this id: never started, expired, or another key's."""

    http_status = 404


class JobStoreUnavailable(ServiceError):
    """The job table or queue did not answer in time, or failed."""

    http_status = 503


class StorageUnavailable(ServiceError):
    """The upload store (S3) did not answer in time or failed; or uploads are not deployed."""

    http_status = 503


class InternalError(ServiceError):
    """Anything unexpected: logged in full, shown to the client only as this."""

    http_status = 500

    def __init__(self, description: str = "internal error") -> None:
        super().__init__(description)


def error_from_json(
    document: object,
    kinds: tuple[type[ServiceError], ...] | None = None,
    otherwise: type[ServiceError] = InternalError,
    description: str = "internal error",
) -> ServiceError:
    """The error ``as_json`` wrote, if its kind is one of ``kinds`` (any service error when not
    given); else ``otherwise``: a process or function reports only what it may. ``description``
    stands in where the document gives none."""
    document = document if isinstance(document, dict) else {}
    allowed = {kind.__name__: kind for kind in (kinds or _all_service_errors())}
    kind = allowed.get(document.get("kind"), otherwise)
    return kind(str(document.get("description") or description))


def _all_service_errors() -> tuple[type[ServiceError], ...]:
    found, waiting = [], [ServiceError]
    while waiting:
        kind = waiting.pop()
        found.append(kind)
        waiting.extend(kind.__subclasses__())
    return tuple(found)
