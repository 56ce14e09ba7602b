"""TC3-HMAC-SHA256 as the server checks it, against requests Tencent's own SDK signed."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import pytest
from tencentcloud.common.sign import Sign

from ocr_api.errors import AuthorizationMalformed, SignatureExpired, SignatureMismatch
from ocr_api.keys.signature import WINDOW_SECONDS, SignedRequest
from tencent_sdk import signed, signing_at

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
PARAMS = {"ImageUrl": "https://images.example/receipt.jpg", "IsPdf": False}
NOW = 1_780_000_000  # 2026-05-28T20:26:40Z


def sdk_request(params=PARAMS, at=NOW, **options) -> tuple[dict[str, str], bytes]:
    with signing_at(at):
        return signed(params, SECRET_ID, SECRET_KEY, **options)


def check(headers: dict[str, str], body: bytes, now: float = NOW, secret_key: str = SECRET_KEY) -> None:
    request = SignedRequest.received("POST", headers, body)
    authorization = request.authorization()
    request.check_time(authorization, now)
    request.check_service(authorization)
    request.verify(authorization, secret_key)


def documented_signature(
    headers: dict[str, str], body: bytes, signed_names: list[str], timestamp: int, service: str = "ocr"
) -> str:
    """An Authorization header built step by step as Tencent's signing document describes, for
    headers the SDK does not sign; the SDK's HMAC chain (Sign.sign_tc3) makes the signature."""
    lower = {name.lower(): value for name, value in headers.items()}
    names = sorted(signed_names)
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{name}:{lower[name].strip().lower()}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = Sign.sign_tc3(SECRET_KEY, date, service, to_sign)
    return f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"


def test_a_request_the_sdk_signed_verifies():
    headers, body = sdk_request()
    assert headers["Authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2026-05-28/ocr/")
    check(headers, body)


def test_the_documented_steps_give_the_sdks_signature():
    # The reference the other tests sign extra headers with is the SDK's own result where both apply.
    headers, body = sdk_request()
    assert documented_signature(headers, body, ["content-type", "host"], NOW) == headers["Authorization"]


def test_a_wrong_secret_key_fails():
    headers, body = sdk_request()
    with pytest.raises(SignatureMismatch):
        check(headers, body, secret_key=SECRET_KEY.replace("G", "g"))


def test_header_names_in_any_case_and_any_order():
    headers, body = sdk_request()
    shuffled = {
        name.upper() if i % 2 else name.lower(): value
        for i, (name, value) in enumerate(reversed(list(headers.items())))
    }
    check(shuffled, body)


def test_header_values_compare_trimmed_and_in_lower_case():
    headers, body = sdk_request()
    # The same request after a proxy re-wrote the values' case and spacing.
    check({**headers, "Content-Type": " Application/JSON ", "Host": "OCR.example.com"}, body)


def test_extra_signed_headers_are_covered():
    headers, body = sdk_request()
    headers["Authorization"] = documented_signature(
        headers, body, ["content-type", "host", "x-tc-action", "x-tc-timestamp"], NOW
    )
    check(headers, body)
    with pytest.raises(SignatureMismatch):
        check({**headers, "X-TC-Action": "GeneralBasicOCR"}, body)
    # A header the signature names must be sent.
    without = {name: value for name, value in headers.items() if name != "X-TC-Action"}
    with pytest.raises(AuthorizationMalformed, match="x-tc-action"):
        check(without, body)


def test_an_unsigned_header_may_change():
    headers, body = sdk_request()
    check({**headers, "X-TC-Region": "ap-shanghai", "X-TC-Action": "Anything"}, body)


def test_a_body_changed_after_signing_fails():
    headers, body = sdk_request()
    with pytest.raises(SignatureMismatch):
        check(headers, body.replace(b"receipt", b"invoice"))
    with pytest.raises(SignatureMismatch):
        check(headers, body + b" ")


def test_unsigned_payload_leaves_the_body_out_of_the_signature():
    headers, body = sdk_request(unsigned_payload=True)
    assert headers["X-TC-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    check(headers, body)
    check(headers, body.replace(b"receipt", b"invoice"))  # what the option means
    # Taking the header away makes the body count again, and the signature no longer holds.
    without = {name: value for name, value in headers.items() if name != "X-TC-Content-SHA256"}
    with pytest.raises(SignatureMismatch):
        check(without, body)


@pytest.mark.parametrize("late", [-WINDOW_SECONDS, 0, WINDOW_SECONDS])
def test_a_signature_holds_within_the_window(late):
    headers, body = sdk_request()
    check(headers, body, now=NOW + late)


@pytest.mark.parametrize("late", [WINDOW_SECONDS + 1, 600, -(WINDOW_SECONDS + 1)])
def test_a_replay_after_the_window_has_expired(late):
    headers, body = sdk_request()
    with pytest.raises(SignatureExpired, match="300 s"):
        check(headers, body, now=NOW + late)


def test_the_credential_date_must_be_the_timestamps_utc_day():
    # Tencent's documented pitfall: a date taken in UTC+8 is tomorrow from 16:00 UTC.
    headers, body = sdk_request()
    beijing_date = datetime.fromtimestamp(NOW + 8 * 3600, UTC).strftime("%Y-%m-%d")
    headers["Authorization"] = headers["Authorization"].replace("/2026-05-28/", f"/{beijing_date}/")
    with pytest.raises(SignatureMismatch, match="UTC date"):
        check(headers, body)


def test_non_ascii_in_the_body():
    params = {"ImageUrl": "https://images.example/发票.jpg"}
    headers, _ = sdk_request(params)
    raw = json.dumps(params, ensure_ascii=False).encode("utf-8")  # as clients other than the SDK send it
    headers["Authorization"] = documented_signature(headers, raw, ["content-type", "host"], NOW)
    check(headers, raw)
    # The same text escaped is other bytes, and so another request.
    with pytest.raises(SignatureMismatch):
        check(headers, json.dumps(params).encode("utf-8"))


def test_the_service_is_the_one_the_client_signed_with():
    # Tencent's Node.js SDK names it after the endpoint's first label: "127" for 127.0.0.1:3000.
    headers, body = sdk_request(host="127.0.0.1:3000")
    headers["Authorization"] = documented_signature(headers, body, ["content-type", "host"], NOW, service="127")
    check(headers, body)
    # The service is part of the signing key: the same signature under another name fails.
    headers["Authorization"] = headers["Authorization"].replace("/127/", "/ocr/")
    with pytest.raises(SignatureMismatch):
        check(headers, body)


def test_the_host_may_be_signed_without_its_port():
    # The Node.js SDK signs the URL's host name and sends the host with its port.
    headers, body = sdk_request(host="127.0.0.1")
    check({**headers, "Host": "127.0.0.1:3000"}, body)
    # Another host, with or without a port, is another request.
    with pytest.raises(SignatureMismatch):
        check({**headers, "Host": "127.0.0.2:3000"}, body)
    with pytest.raises(SignatureMismatch):
        check({**headers, "Host": "127.0.0.2"}, body)


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.replace("TC3-HMAC-SHA256", "HMAC-SHA256"),
        lambda a: a.replace("/tc3_request", "/request"),
        lambda a: a.replace("/ocr/", "//"),
        lambda a: a.replace("SignedHeaders=content-type;host", "SignedHeaders=content-type"),
        lambda a: a.replace("SignedHeaders=content-type;host", "SignedHeaders=host"),
        lambda a: a[:-4],
        lambda a: a.split(", Signature=")[0],
        lambda a: "",
    ],
    ids=[
        "other-algorithm",
        "other-terminator",
        "no-service",
        "host-unsigned",
        "content-type-unsigned",
        "short-signature",
        "no-signature",
        "empty",
    ],
)
def test_a_malformed_authorization_is_refused_as_such(change):
    headers, body = sdk_request()
    headers["Authorization"] = change(headers["Authorization"])
    with pytest.raises(AuthorizationMalformed):
        check(headers, body)


@pytest.mark.parametrize("service", ["cvm", "x", "ocr2"])
def test_a_credential_scoped_to_another_service_is_refused(service):
    # Signed correctly, but for another service of the host's (or of Tencent's): not for this API.
    headers, body = sdk_request()
    headers["Authorization"] = documented_signature(headers, body, ["content-type", "host"], NOW, service=service)
    with pytest.raises(SignatureMismatch, match="scoped to the service"):
        check(headers, body)


@pytest.mark.parametrize(
    "timestamp",
    [
        "",
        "soon",
        "-5",
        "1.5e9",
        # Once an OverflowError or a ValueError of int() (an InternalError, with a trace in the log).
        "1" + "0" * 400,
        "9" * 5000,
        # Digits of other scripts, which str.isdigit() takes: Arabic-Indic, fullwidth, superscript.
        "\u0661\u0667\u0668\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
        "\uff11\uff17\uff18\uff10",
        "\u00b9\u00b2",
    ],
    ids=["empty", "word", "negative", "float", "huge", "5000-digits", "arabic-indic", "fullwidth", "superscript"],
)
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp):
    headers, body = sdk_request()
    with pytest.raises(AuthorizationMalformed, match="X-TC-Timestamp"):
        check({**headers, "X-TC-Timestamp": timestamp}, body)


def test_the_sdk_signs_with_the_clock_it_reads():
    # The helper's clock is the SDK's: a request signed now is fresh now.
    headers, body = signed(PARAMS, SECRET_ID, SECRET_KEY)
    check(headers, body, now=time.time())
