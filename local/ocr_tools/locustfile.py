"""The load test's clients: locust users calling every endpoint with several keys.

Run by ``python -m ocr_local load`` (see load.py), which writes the configuration this file reads
from ``OCR_LOAD_CONFIG`` and checks the tally it leaves behind against the keys' usage counters.
Each answer is classed as the outcome the service should have counted for its key; anything
else (a 5xx, an envelope we do not document) is a locust failure.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

from locust import HttpUser, constant, events, task

from ocr_tools.api_clients import (
    ENDPOINTS,
    OK,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    UNSUPPORTED_IMAGE,
    ContractViolation,
    Endpoint,
)

CONFIG = json.loads(Path(os.environ["OCR_LOAD_CONFIG"]).read_text())
PAGE = Path(CONFIG["page"]).read_bytes()
NOT_AN_IMAGE = b"this is a text file, not an image\n" * 20

# (key label, endpoint, outcome) -> answers seen
tally: Counter[tuple[str, str, str]] = Counter()

# The situations a load test meets, and the outcome the service counts each as.
OUTCOMES = {OK: "ok", UNSUPPORTED_IMAGE: "client_error", RATE_LIMITED: "rate_limited", QUOTA_EXCEEDED: "quota_exceeded"}
# tupu answers 429 for its rate and its quota alike, so only keys that meet neither are sent there.
WITHOUT_LIMITS = (OK, UNSUPPORTED_IMAGE)


def outcome_of(endpoint: Endpoint, status: int, body, among=tuple(OUTCOMES)) -> str | None:
    """The outcome the service should have counted, or None for an answer the docs do not give."""
    try:
        answer = endpoint.read(status, body)
    except ContractViolation:
        return None
    return OUTCOMES.get(endpoint.situation_of(answer, among))


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

    def _call(self, name: str, label: str, judge, method: str, path: str, **request) -> None:
        with self.client.request(method, path, name=name, catch_response=True, **request) as response:
            try:
                outcome = judge(response.status_code, response.json())
            except ValueError:
                outcome = None
            if outcome is None:
                response.failure(f"undocumented answer {response.status_code}: {response.text[:200]}")
                outcome = "unexpected"
            else:
                response.success()
            tally[(label, name, outcome)] += 1

    def _send_image(self, name: str, endpoint_name: str, image: bytes, way: str = "", limited: bool = True) -> None:
        """The image sent as the endpoint's clients send one, with a key (see ``_key``)."""
        label, appkey = self._key(limited)
        endpoint = ENDPOINTS[endpoint_name]
        request = endpoint.image_request(image, way, appkey=appkey, filename="page.png", part_type="image/png")
        among = tuple(OUTCOMES) if limited else WITHOUT_LIMITS
        self._call(
            name,
            label,
            lambda status, body: outcome_of(endpoint, status, body, among),
            "POST",
            request.path,
            data=request.body,
            headers=dict(request.headers),
            params=list(request.query),
        )

    @task(3)
    def gugudata_v1(self) -> None:
        self._send_image("v1 multipart", "gugudata-v1", PAGE)

    @task(2)
    def gugudata_v1_not_an_image(self) -> None:
        self._send_image("v1 not an image", "gugudata-v1", NOT_AN_IMAGE)

    @task(1)
    def gugudata_legacy(self) -> None:
        self._send_image("legacy multipart", "gugudata-legacy", PAGE)

    @task(2)
    def universal(self) -> None:
        self._send_image("universal base64", "universal", PAGE, way="base64")

    @task(1)
    def tupu(self) -> None:
        self._send_image("tupu multipart", "tupu", PAGE, limited=False)

    @task(1)
    def tencent(self) -> None:
        self._send_image("tencent base64", "tencent", PAGE)

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
