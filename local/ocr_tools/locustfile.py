"""The load test's clients: locust users calling every endpoint with several keys.

Run by ``python -m ocr_local load`` (see load.py), which writes the configuration this file reads
from ``OCR_LOAD_CONFIG`` and checks the tally it leaves behind against the keys' usage counters.
Each answer is classed as the outcome the service should have counted for its key; anything
else (a 5xx, an envelope we do not document) is a locust failure.
"""

from __future__ import annotations

import base64
import json
import os
import random
from collections import Counter
from pathlib import Path

from locust import HttpUser, constant, events, task

CONFIG = json.loads(Path(os.environ["OCR_LOAD_CONFIG"]).read_text())
PAGE = Path(CONFIG["page"]).read_bytes()
PAGE_BASE64 = base64.b64encode(PAGE).decode()
NOT_AN_IMAGE = b"this is a text file, not an image\n" * 20

# (key label, endpoint, outcome) -> answers seen
tally: Counter[tuple[str, str, str]] = Counter()


def _v1_outcome(status: int, body: dict) -> str | None:
    code = body.get("DataStatus", {}).get("statusCode")
    return {(200, 100): "ok", (415, 101): "client_error", (429, 102): "rate_limited", (429, 103): "quota_exceeded"}.get(
        (status, code)
    )


def _legacy_outcome(status: int, body: dict) -> str | None:
    code = body.get("DataStatus", {}).get("StatusCode")
    return {(200, 100): "ok", (200, 501): "client_error", (429, 502): "rate_limited", (200, 505): "quota_exceeded"}.get(
        (status, code)
    )


def _universal_outcome(status: int, body: dict) -> str | None:
    if status == 200 and body.get("code") == 0 and body.get("results"):
        return "ok"
    return {
        (415, "unsupported_image"): "client_error",
        (429, "rate_limited"): "rate_limited",
        (429, "quota_exceeded"): "quota_exceeded",
    }.get((status, body.get("error")))


def _tencent_outcome(status: int, body: dict) -> str | None:
    response = body.get("Response", {})
    if status != 200:
        return None
    if "TextDetections" in response:
        return "ok"
    return {
        "FailedOperation.ImageDecodeFailed": "client_error",
        "RequestLimitExceeded": "rate_limited",
        "ResourcesSoldOut.ChargeStatusException": "quota_exceeded",
    }.get(response.get("Error", {}).get("Code"))


def _tupu_outcome(status: int, body: dict) -> str | None:
    # tupu answers 429 for both rate and quota, so only keys that meet neither are sent here.
    if status == 200 and body.get("code") == 0:
        return "ok"
    return "client_error" if (status, body.get("code")) == (415, 415) else None


class ApiClient(HttpUser):
    wait_time = constant(0)

    def _key(self, limited: bool = True) -> tuple[str, str]:
        """(label, appkey): mostly the unlimited keys, sometimes one that meets its rate or quota."""
        keys = CONFIG["keys"]
        if limited and random.random() < 0.3:
            label = random.choice(["daily-quota", "slow"])
        else:
            label = random.choice([label for label in keys if label.startswith("standard")])
        return label, keys[label]

    def _call(self, endpoint: str, label: str, judge, method: str, path: str, **request) -> None:
        with self.client.request(method, path, name=endpoint, catch_response=True, **request) as response:
            try:
                outcome = judge(response.status_code, response.json())
            except ValueError:
                outcome = None
            if outcome is None:
                response.failure(f"undocumented answer {response.status_code}: {response.text[:200]}")
                outcome = "unexpected"
            else:
                response.success()
            tally[(label, endpoint, outcome)] += 1

    @task(3)
    def gugudata_v1(self) -> None:
        label, appkey = self._key()
        self._call(
            "v1 multipart",
            label,
            _v1_outcome,
            "POST",
            "/v1/imagerecognition/ocr",
            params={"appkey": appkey},
            files={"imagefile": ("page.png", PAGE, "image/png")},
        )

    @task(2)
    def gugudata_v1_not_an_image(self) -> None:
        label, appkey = self._key()
        self._call(
            "v1 not an image",
            label,
            _v1_outcome,
            "POST",
            "/v1/imagerecognition/ocr",
            params={"appkey": appkey},
            files={"imagefile": ("notes.png", NOT_AN_IMAGE, "image/png")},
        )

    @task(1)
    def gugudata_legacy(self) -> None:
        label, appkey = self._key()
        self._call(
            "legacy multipart",
            label,
            _legacy_outcome,
            "POST",
            "/imagerecognition/imagestreamocr",
            params={"appkey": appkey},
            files={"imagefile": ("page.png", PAGE, "image/png")},
        )

    @task(2)
    def universal(self) -> None:
        label, appkey = self._key()
        self._call(
            "universal base64",
            label,
            _universal_outcome,
            "POST",
            "/v1/ocr/universal",
            headers={"x-api-key": appkey},
            json={"image_base64": PAGE_BASE64, "need_location": False},
        )

    @task(1)
    def tupu(self) -> None:
        label, appkey = self._key(limited=False)
        self._call(
            "tupu multipart",
            label,
            _tupu_outcome,
            "POST",
            "/v3/recognition/general-ocr",
            params={"key": appkey},
            files={"image": ("page.png", PAGE, "image/png")},
        )

    @task(1)
    def tencent(self) -> None:
        label, appkey = self._key()
        self._call(
            "tencent base64",
            label,
            _tencent_outcome,
            "POST",
            "/",
            headers={"X-TC-Action": "GeneralAccurateOCR", "x-api-key": appkey},
            json={"ImageBase64": PAGE_BASE64},
        )

    @task(2)
    def usage(self) -> None:
        # Asking for usage uses no quota, so it is tallied apart from the counted calls.
        label, appkey = self._key(limited=False)
        self._call(
            "usage",
            label,
            lambda status, body: "not_counted" if status == 200 and "today" in body else None,
            "GET",
            "/v1/usage",
            headers={"x-api-key": appkey},
        )

    @task(2)
    def demo(self) -> None:
        self._call(
            "demo",
            "no key",
            lambda status, body: "not_counted" if status == 200 else None,
            "GET",
            "/v1/imagerecognition/ocr/demo",
        )


@events.test_stop.add_listener
def _write_tally(environment, **kwargs) -> None:
    rows = [
        {"key": label, "endpoint": endpoint, "outcome": outcome, "answers": count}
        for (label, endpoint, outcome), count in sorted(tally.items())
    ]
    Path(CONFIG["tally"]).write_text(json.dumps(rows, indent=1))
