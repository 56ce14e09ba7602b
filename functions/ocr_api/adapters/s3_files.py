"""The deployment's bucket in S3: clients' uploads (presigned POSTs for them to upload to) and
jobs' files (their sources and page results); objects read back within a request's limits.
botocore errors become domain errors here and nowhere else."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.adapters.dynamodb_keys import AttemptTimeouts
from ocr_api.errors import ImageTooManyBytes, StorageUnavailable, UploadNotFound

logger = logging.getLogger(__name__)

# S3 in the same region: the first byte of an object within a second; its bytes then arrive
# at tens of MB a second, each read waiting at most read_seconds.
IN_REGION = AttemptTimeouts(connect_seconds=0.5, read_seconds=2.0)
_READ_CHUNK_BYTES = 1024 * 1024
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class PresignedPost:
    """Where and how to POST one file: the form's URL, the fields to send before the file, and
    when S3 stops taking it."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    stored_at: datetime


class FilesBucket:
    def __init__(self, bucket: str, endpoint_url: str | None = None, timeouts: AttemptTimeouts = IN_REGION) -> None:
        self.bucket = bucket
        self.timeouts = timeouts
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        # Created on first use, once per container, inside whatever AWS context is active.
        # Signature Version 4: the only one S3 accepts in newer regions (botocore may otherwise
        # presign with version 2).
        return self.timeouts.client("s3", self._endpoint_url, signature_version="s3v4")

    def presigned_post(self, object_key: str, content_type: str, max_bytes: int, seconds: int) -> PresignedPost:
        """A POST that stores one file of 1..``max_bytes`` bytes, of ``content_type``, at
        ``object_key`` and nowhere else, for ``seconds``. S3 checks every condition; the
        signature is made here, without a call to S3."""
        conditions = [
            {"bucket": self.bucket},
            ["eq", "$key", object_key],
            ["eq", "$Content-Type", content_type],
            ["content-length-range", 1, max_bytes],
        ]
        try:
            post = self._client.generate_presigned_post(
                self.bucket,
                object_key,
                Fields={"Content-Type": content_type},
                Conditions=conditions,
                ExpiresIn=seconds,
            )
        except BotoCoreError as err:  # no credentials to sign with
            logger.error("upload not presigned", extra={"error": type(err).__name__})
            raise StorageUnavailable("uploads cannot be offered right now") from err
        return PresignedPost(post["url"], post["fields"], datetime.now(UTC) + timedelta(seconds=seconds))

    def post_origin(self) -> str | None:
        """The scheme and host a browser POSTs this bucket's uploads to (presigned here, without
        a call to S3); None where nothing can be signed."""
        try:
            url = self._client.generate_presigned_post(self.bucket, "uploads/origin")["url"]
        except BotoCoreError as err:
            logger.error("upload origin not known", extra={"error": type(err).__name__})
            return None
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def put(self, object_key: str, data: bytes, content_type: str, deadline: float | None = None) -> None:
        """Stores ``data`` at ``object_key``; ``StorageUnavailable`` when S3 fails."""
        if not self.timeouts.fit(deadline):
            raise StorageUnavailable("no time is left to store the file")
        with _s3_errors("file not stored", "the file cannot be stored right now"):
            self._client.put_object(Bucket=self.bucket, Key=object_key, Body=data, ContentType=content_type)

    def stored_at(self, object_key: str, deadline: float) -> datetime:
        """When the object was stored; ``UploadNotFound`` when there is none."""
        if not self.timeouts.fit(deadline):
            raise StorageUnavailable("no time is left to look at the upload")
        with _s3_errors("upload not found out", "the upload cannot be read right now", missing_is_not_found=True):
            return self._client.head_object(Bucket=self.bucket, Key=object_key)["LastModified"]

    def read(self, object_key: str, max_bytes: int, deadline: float) -> StoredObject:
        """The object's bytes and when it was stored; ``UploadNotFound`` when there is none,
        ``ImageTooManyBytes`` over ``max_bytes`` (before its bytes are read), and
        ``StorageUnavailable`` when S3 fails or the bytes do not arrive by ``deadline``."""
        if not self.timeouts.fit(deadline):
            raise StorageUnavailable("no time is left to read the upload")
        with _s3_errors("upload not read", "the upload cannot be read right now", missing_is_not_found=True):
            answer = self._client.get_object(Bucket=self.bucket, Key=object_key)
            size = answer["ContentLength"]
            if size > max_bytes:
                answer["Body"].close()
                raise ImageTooManyBytes(f"the upload is {size} bytes; the limit is {max_bytes} bytes")
            data = _read_by(answer["Body"], size, deadline)
        return StoredObject(data, answer["LastModified"])


@contextmanager
def _s3_errors(logged: str, answered: str, missing_is_not_found: bool = False) -> Iterator[None]:
    """botocore's errors inside as ``StorageUnavailable`` (logged with their code), or, where
    the object is looked for, a missing one as ``UploadNotFound`` (or the job's file is gone)."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        code = err.response.get("Error", {}).get("Code") if isinstance(err, ClientError) else type(err).__name__
        if missing_is_not_found and code in _MISSING:
            raise UploadNotFound("no upload has this upload_id") from None
        logger.error(logged, extra={"error": code})
        raise StorageUnavailable(answered) from err


def _read_by(body, size: int, deadline: float) -> bytes:
    chunks, received = [], 0
    try:
        while received < size:
            if time.monotonic() >= deadline:
                raise StorageUnavailable("the upload did not arrive in the time this request has")
            chunk = body.read(min(_READ_CHUNK_BYTES, size - received))
            if not chunk:
                raise StorageUnavailable("the upload ended before its announced size")
            chunks.append(chunk)
            received += len(chunk)
    finally:
        body.close()
    return b"".join(chunks)
