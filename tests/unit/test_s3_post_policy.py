"""The local S3's checks of a form upload, on forms botocore presigns as the function does: what
S3 accepts passes, and each thing S3 refuses is refused with S3's own code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.config import Config

from ocr_local.s3_post_policy import PostRefused, check_post

ACCESS_KEY, SECRET_KEY = "AKIDLOCALTEST", "local-secret"
BUCKET = "ocr-uploads-local"
KEY = "uploads/abc/upl_" + "0" * 32


def presigned(max_bytes: int = 1000, content_type: str = "image/jpeg") -> dict[str, str]:
    session = botocore.session.get_session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY, "session-token")
    client = session.create_client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
    post = client.generate_presigned_post(
        BUCKET,
        KEY,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"bucket": BUCKET},
            ["eq", "$key", KEY],
            ["eq", "$Content-Type", content_type],
            ["content-length-range", 1, max_bytes],
        ],
        ExpiresIn=900,
    )
    return {name.lower(): value for name, value in post["fields"].items()}


def secret_for(access_key: str) -> str | None:
    return SECRET_KEY if access_key == ACCESS_KEY else None


def check(fields, size=500, bucket=BUCKET, now=None):
    check_post(fields, size, bucket, secret_for, now or datetime.now(UTC))


def refusal(fields, **kwargs) -> tuple[int, str]:
    with pytest.raises(PostRefused) as refused:
        check(fields, **kwargs)
    return refused.value.status, refused.value.code


def test_the_form_as_presigned_is_accepted():
    check(presigned())


@pytest.mark.parametrize("size, code", [(1001, "EntityTooLarge"), (0, "EntityTooSmall")])
def test_a_file_outside_the_length_range_is_refused(size, code):
    assert refusal(presigned(max_bytes=1000), size=size) == (400, code)


def test_a_form_used_after_it_expires_is_refused():
    assert refusal(presigned(), now=datetime.now(UTC) + timedelta(minutes=16)) == (403, "AccessDenied")


@pytest.mark.parametrize(
    "change",
    [
        {"key": "uploads/another-key/upl_" + "0" * 32},
        {"content-type": "text/html"},
        {"acl": "public-read"},
    ],
    ids=["another-key", "other-content-type", "extra-field"],
)
def test_a_field_the_policy_does_not_allow_is_refused(change):
    assert refusal({**presigned(), **change}) == (403, "AccessDenied")


def test_a_form_for_another_bucket_is_refused():
    assert refusal(presigned(), bucket="someone-elses") == (403, "AccessDenied")


def test_a_policy_changed_after_signing_is_refused():
    fields = presigned(max_bytes=1000)
    widened = presigned(max_bytes=10**9)["policy"]
    assert refusal({**fields, "policy": widened}) == (403, "SignatureDoesNotMatch")


def test_a_signature_by_an_unknown_credential_is_refused():
    fields = presigned()
    fields["x-amz-credential"] = fields["x-amz-credential"].replace(ACCESS_KEY, "AKIDSOMEONEELSE")
    assert refusal(fields) == (403, "InvalidAccessKeyId")


def test_a_form_without_a_policy_is_refused():
    fields = presigned()
    del fields["policy"]
    assert refusal(fields) == (403, "AccessDenied")
