"""Files larger than a request can carry: uploaded straight to S3 with a presigned POST, then
read by reference (``upload_id``). Each key's uploads live under its own prefix, so no key can
name another's: the object a key asks for is always looked up under that key's own."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ocr_api.adapters.s3_files import FilesBucket, PresignedPost
from ocr_api.errors import InvalidRequest, StorageUnavailable, UploadExpired
from ocr_api.keys import AppKey

# The API whose keys may upload: uploads are read by reference on the universal endpoint (and by
# jobs, which take its options).
UPLOADING_API = "universal"
# How long an upload is kept: the bucket's lifecycle rule removes it after a day (template.yaml),
# which S3 does some hours late; past this, it is refused as expired all the same.
UPLOAD_RETENTION = timedelta(days=1)
_UPLOAD_ID = re.compile(r"upl_[0-9a-f]{32}")
# What may be uploaded: the types the API reads (what a file is, is still decided from its bytes).
UPLOAD_CONTENT_TYPES = (
    "image/jpeg",
    "image/png",
    "image/bmp",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/heic",
    "image/heif",
    "image/avif",
    "application/pdf",
)


@dataclass(frozen=True)
class UploadRef:
    """An image source: a file the caller's key uploaded before."""

    upload_id: str

    def __post_init__(self) -> None:
        if not _UPLOAD_ID.fullmatch(self.upload_id):
            raise InvalidRequest("upload_id is not an upload id (upl_ and 32 hexadecimal digits)")


@dataclass(frozen=True)
class UploadOffer:
    upload_id: str
    post: PresignedPost
    max_bytes: int
    content_type: str


class Uploads:
    def __init__(
        self,
        bucket: FilesBucket | None,
        max_bytes: int,
        url_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket = bucket
        self.max_bytes = max_bytes
        self.url_seconds = url_seconds
        self.clock = clock

    def post_origin(self) -> str | None:
        """Where browsers send uploads (a page that uploads must be allowed to connect there)."""
        return self.bucket.post_origin() if self.bucket is not None else None

    def offer(self, owner: AppKey, content_type: str) -> UploadOffer:
        """A new upload id and the presigned POST that stores one file under it."""
        if content_type not in UPLOAD_CONTENT_TYPES:
            raise InvalidRequest(f"content_type must be one of {', '.join(UPLOAD_CONTENT_TYPES)}")
        upload_id = "upl_" + secrets.token_hex(16)
        object_key = _object_key(owner.key_hash, upload_id)
        post = self._bucket().presigned_post(object_key, content_type, self.max_bytes, self.url_seconds)
        return UploadOffer(upload_id, post, self.max_bytes, content_type)

    def read(self, owner: AppKey, upload: UploadRef, deadline: float) -> bytes:
        """The bytes ``owner`` uploaded as ``upload``: ``UploadNotFound`` for any other key's."""
        return self.read_as(owner.key_hash, upload, deadline)

    def read_as(self, key_hash: str, upload: UploadRef, deadline: float) -> bytes:
        """The bytes the key with ``key_hash`` uploaded as ``upload`` (a job reads its file so)."""
        stored = self._bucket().read(_object_key(key_hash, upload.upload_id), self.max_bytes, deadline)
        self._check_age(stored.stored_at)
        return stored.data

    def check(self, owner: AppKey, upload: UploadRef, deadline: float) -> None:
        """That ``owner`` has the upload, unexpired, without reading it."""
        self._check_age(self._bucket().stored_at(_object_key(owner.key_hash, upload.upload_id), deadline))

    def _check_age(self, stored_at: datetime) -> None:
        if datetime.fromtimestamp(self.clock(), UTC) - stored_at > UPLOAD_RETENTION:
            raise UploadExpired(f"the upload is older than {UPLOAD_RETENTION.days} day; upload the file again")

    def _bucket(self) -> FilesBucket:
        if self.bucket is None:
            raise StorageUnavailable("uploads are not deployed here")
        return self.bucket


def _object_key(key_hash: str, upload_id: str) -> str:
    # The whole hash, not the short key_id: two keys can never share a prefix. It is what the
    # table stores, and no one can call the API with it (the key is 128 random bits).
    return f"uploads/{key_hash}/{upload_id}"
