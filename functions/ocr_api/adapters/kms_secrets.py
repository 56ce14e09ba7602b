"""SecretKeys sealed with a KMS key: the ``SecretCipher`` of production (moto's KMS locally).

Each SecretKey is encrypted with the template's KMS key under the encryption context
``{"SecretId": ...}``, so a sealed secret copied onto another SecretId's record does not open,
and the function's policy allows Decrypt only with that context present. botocore errors become
domain errors here: a KMS that does not answer is a 503, a secret that does not open is ours.
"""

from __future__ import annotations

import logging
from functools import cached_property

from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.adapters.dynamodb_keys import IN_REGION, AttemptTimeouts
from ocr_api.errors import InternalError, KeyStoreUnavailable

logger = logging.getLogger(__name__)

CONTEXT_KEY = "SecretId"
# Errors that say the sealed bytes, not KMS, are wrong: tampered, moved, or another key's.
_UNOPENABLE = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class KmsSecretCipher:
    def __init__(self, key_id: str, endpoint_url: str | None = None, timeouts: AttemptTimeouts = IN_REGION) -> None:
        self.key_id = key_id
        self.timeouts = timeouts
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        # One attempt, on first use: the request's deadline leaves no room for another.
        return self.timeouts.client("kms", self._endpoint_url)

    def seal(self, secret_id: str, secret_key: str) -> bytes:
        try:
            reply = self._client.encrypt(
                KeyId=self.key_id, Plaintext=secret_key.encode("utf-8"), EncryptionContext={CONTEXT_KEY: secret_id}
            )
        except (ClientError, BotoCoreError) as err:
            raise _unavailable("seal", err) from err
        return reply["CiphertextBlob"]

    def open(self, secret_id: str, sealed: bytes, deadline: float | None = None) -> str:
        if not self.timeouts.fit(deadline):
            logger.warning("KMS not called: no time left")
            raise KeyStoreUnavailable("no time is left to reach the credential store")
        try:
            reply = self._client.decrypt(
                KeyId=self.key_id, CiphertextBlob=sealed, EncryptionContext={CONTEXT_KEY: secret_id}
            )
        except ClientError as err:
            if err.response["Error"]["Code"] in _UNOPENABLE:
                # Never the secret, nor the sealed bytes: only whose record would not open.
                logger.error(
                    "sealed SecretKey does not open",
                    extra={"secret_id": secret_id, "error_code": err.response["Error"]["Code"]},
                )
                raise InternalError() from err
            raise _unavailable("open", err) from err
        except BotoCoreError as err:
            raise _unavailable("open", err) from err
        return reply["Plaintext"].decode("utf-8")


def _unavailable(action: str, err: Exception) -> KeyStoreUnavailable:
    code = err.response["Error"]["Code"] if isinstance(err, ClientError) else type(err).__name__
    logger.error("KMS failed", extra={"action": action, "error_code": code})
    return KeyStoreUnavailable("the credential store is unavailable; try again shortly")
