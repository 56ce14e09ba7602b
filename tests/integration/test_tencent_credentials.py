"""Tencent SecretId/SecretKey pairs: issued by the key command, sealed by KMS bound to their
SecretId, never stored or logged in plain text, and checked by the service (moto for DynamoDB and
KMS, requests signed by Tencent's SDK, through the real handler)."""

from __future__ import annotations

import json
import logging
import re

import boto3
import pytest

from dialects import poster
from ocr_api.adapters.kms_secrets import KmsSecretCipher
from ocr_api.cli.keys import main as keys_command
from ocr_api.errors import InternalError, KeyStoreUnavailable
from ocr_local.environment import LOCAL_SECRETS_KEY_ALIAS, LOCAL_TABLE_NAME
from tencent_sdk import signed, signing_at


def run_keys(capsys, *args) -> str:
    code = keys_command(["--table", LOCAL_TABLE_NAME, "--kms-key", LOCAL_SECRETS_KEY_ALIAS, *args])
    output = capsys.readouterr()
    assert code == 0, output.err
    return output.out


def issued_pair(output: str) -> tuple[str, str]:
    return (
        re.search(r"SecretId:  (AKID[A-Za-z0-9]{32})", output)[1],
        re.search(r"SecretKey: ([A-Za-z0-9]{32})", output)[1],
    )


@pytest.fixture
def key_id(store, capsys) -> str:
    return re.search(r"key id: ([0-9a-f]{12})", run_keys(capsys, "create", "--name", "tencent user"))[1]


@pytest.fixture
def tencent(invoke, spec, service):
    """Posts a request the SDK signed for the Tencent route, through the real handler."""
    post = poster(invoke, spec, "/")

    def call(secret_id: str, secret_key: str, params: dict | None = None) -> dict:
        # Signed by the service's clock, which these tests fix at a day's noon.
        with signing_at(service.access.clock()):
            headers, body = signed(params or {"ImageBase64": "aGVsbG8="}, secret_id, secret_key, host="127.0.0.1")
        status, answer = post(
            json_body=json.loads(body),
            headers=[(name, value) for name, value in headers.items() if name != "Content-Type"],
        )
        assert status == 200
        return answer["Response"]

    return call


def test_a_pair_lives_through_create_list_disable_enable_rotate_delete(store, key_id, capsys, tencent):
    created = run_keys(capsys, "tencent-credentials", "create", key_id)
    secret_id, secret_key = issued_pair(created)
    assert "shown only now" in created
    # A signature of the pair reaches recognition (the image is not one: the key was accepted).
    assert tencent(secret_id, secret_key)["Error"]["Code"] == "FailedOperation.ImageDecodeFailed"

    listed = run_keys(capsys, "tencent-credentials", "list", key_id)
    assert secret_id in listed and "active" in listed and secret_key not in listed

    run_keys(capsys, "tencent-credentials", "disable", secret_id)
    assert store.get_credential(secret_id).status.value == "disabled"
    run_keys(capsys, "tencent-credentials", "enable", secret_id)
    assert store.get_credential(secret_id).status.value == "active"

    rotated = run_keys(capsys, "tencent-credentials", "rotate", secret_id)
    new_id, new_key = issued_pair(rotated)
    assert new_id != secret_id and new_key != secret_key
    assert store.get_credential(secret_id).status.value == "disabled"
    assert store.get_credential(new_id).key_hash == store.get_credential(secret_id).key_hash

    run_keys(capsys, "tencent-credentials", "delete", secret_id)
    assert store.get_credential(secret_id) is None
    # Deleting the key takes its remaining pairs with it.
    assert "1 Tencent credential" in run_keys(capsys, "delete", key_id)
    assert store.get_credential(new_id) is None


def test_several_pairs_per_key_each_sign(store, key_id, capsys, tencent):
    pairs = [issued_pair(run_keys(capsys, "tencent-credentials", "create", key_id)) for _ in range(2)]
    for secret_id, secret_key in pairs:
        assert tencent(secret_id, secret_key)["Error"]["Code"] == "FailedOperation.ImageDecodeFailed"
    assert tencent(pairs[0][0], pairs[1][1])["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_the_secret_key_is_stored_only_sealed(store, key_id, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    secret_id, secret_key = issued_pair(run_keys(capsys, "tencent-credentials", "create", key_id))
    [item] = [
        item
        for item in boto3.client("dynamodb").scan(TableName=LOCAL_TABLE_NAME)["Items"]
        if item["pk"]["S"] == f"secret#{secret_id}"
    ]
    stored = json.dumps({name: str(value) for name, value in item.items()})
    assert secret_key not in stored and secret_key.encode() not in item["sealed_secret"]["B"]
    assert secret_key not in caplog.text


def test_a_sealed_secret_opens_only_under_its_own_secret_id(store, caplog):
    cipher = KmsSecretCipher(LOCAL_SECRETS_KEY_ALIAS)
    sealed = cipher.seal("AKIDfirst", "the-secret-key-000000000000000001")
    assert cipher.open("AKIDfirst", sealed) == "the-secret-key-000000000000000001"
    # Copied onto another SecretId's record, it does not open: ours to fix, never the client's.
    with pytest.raises(InternalError):
        cipher.open("AKIDsecond", sealed)
    assert "sealed SecretKey does not open" in caplog.text and "the-secret-key" not in caplog.text


def test_kms_out_of_reach_is_unavailable_not_a_crash(store):
    cipher = KmsSecretCipher(LOCAL_SECRETS_KEY_ALIAS, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(KeyStoreUnavailable):
        cipher.open("AKIDfirst", b"sealed")


def test_issuing_needs_the_kms_key(store, key_id, capsys, monkeypatch):
    monkeypatch.delenv("TENCENT_SECRETS_KEY", raising=False)
    code = keys_command(["--table", LOCAL_TABLE_NAME, "tencent-credentials", "create", key_id])
    assert code == 1 and "KMS key" in capsys.readouterr().err


def test_kms_out_of_reach_is_tencents_internal_error_and_charges_nothing(store, key_id, capsys, tencent, reconfigure):
    secret_id, secret_key = issued_pair(run_keys(capsys, "tencent-credentials", "create", key_id))
    reconfigure(kms_endpoint_url="http://127.0.0.1:9")
    assert tencent(secret_id, secret_key)["Error"]["Code"] == "InternalError"
    assert "calls 0 " in run_keys(capsys, "usage", key_id)
