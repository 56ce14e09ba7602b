"""Stand-ins at the service's seams, for unit tests: keys kept in memory, a recognizer and an
engine that answer what a test tells them, a fetcher that serves fixed bytes, an upload bucket
in a dict. The real ones
(DynamoDB through moto, Tesseract, the page workers, HTTP) are in the integration tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ocr_api.adapters.s3_files import PresignedPost, StoredObject
from ocr_api.errors import ImageTooManyBytes, UploadNotFound
from ocr_api.keys import AppKey, Outcome, Plan, UsagePeriod
from ocr_api.keys.credentials import SigningCredential
from ocr_api.keys.usage import CallCounts
from ocr_api.ocr import Orientation, PageLayout, PreparedImage, RecognitionOptions, RecognitionResult, TextLine
from ocr_api.ocr.engine import UPRIGHT_UNSURE
from ocr_api.ocr.recognizer import engine_choice, requested_languages
from ocr_api.ocr.result import BoundingBox


class InMemoryKeys:
    """A ``KeyRepository`` in a dict: keys, plans, and counters per key and day. The rate is
    counted per second only; quotas hold as in DynamoDB (all of a request's calls, or none)."""

    def __init__(
        self, keys: list[AppKey] = (), plans: list[Plan] = (), credentials: list[SigningCredential] = ()
    ) -> None:
        self.keys = {key.key_hash: key for key in keys}
        self.plans = {plan.name: plan for plan in plans}
        self.credentials = {credential.secret_id: credential for credential in credentials}
        self.counters: Counter[tuple[str, str]] = Counter()
        self.deadlines_seen: list[float | None] = []

    def get(self, key_hash: str, deadline: float | None = None) -> AppKey | None:
        self.deadlines_seen.append(deadline)
        return self.keys.get(key_hash)

    def get_credential(self, secret_id: str, deadline: float | None = None) -> SigningCredential | None:
        self.deadlines_seen.append(deadline)
        return self.credentials.get(secret_id)

    def get_plan(self, name: str, deadline: float | None = None) -> Plan | None:
        return self.plans.get(name)

    def admit_request(self, key_hash: str, epoch_second: int, plan: Plan, deadline: float | None = None) -> bool:
        second = (key_hash, f"second#{epoch_second}")
        if self.counters[second] >= plan.calls_per_second:
            return False
        self.counters[second] += 1
        return True

    def charge(
        self,
        key_hash: str,
        plan: Plan,
        period: UsagePeriod,
        deadline: float | None = None,
        calls: int = 1,
        job_page: bool = False,
    ) -> bool:
        limits = (
            (f"calls_{period.date}", plan.daily_quota),
            (f"calls_{period.month}", plan.monthly_quota),
            ("calls_total", plan.trial_calls),
        )
        if any(quota is not None and self.counters[(key_hash, name)] + calls > quota for name, quota in limits):
            return False
        for name, _ in limits:
            self.counters[(key_hash, name)] += calls
        self.counters[(key_hash, f"job_pages_{period.date}" if job_page else f"requests_{period.date}")] += 1
        return True

    def record(
        self,
        key_hash: str,
        plan: Plan,
        period: UsagePeriod,
        outcome: Outcome,
        refund: bool = False,
        deadline: float | None = None,
        calls: int = 1,
        kept_calls: int = 0,
        job_page: bool = False,
    ) -> None:
        self.counters[(key_hash, f"{outcome.value}_{period.date}")] += 1
        if refund and calls > kept_calls:
            for name in (f"calls_{period.date}", f"calls_{period.month}", "calls_total"):
                self.counters[(key_hash, name)] -= calls - kept_calls
            if not kept_calls:
                self.counters[(key_hash, f"job_pages_{period.date}" if job_page else f"requests_{period.date}")] -= 1

    def usage(
        self, key_hash: str, period: UsagePeriod, lifetime: bool, deadline: float | None = None
    ) -> tuple[CallCounts, CallCounts, int | None]:
        today = CallCounts(
            calls=self.counters[(key_hash, f"calls_{period.date}")],
            requests=self.counters[(key_hash, f"requests_{period.date}")],
            outcomes={o.value: self.counters[(key_hash, f"{o.value}_{period.date}")] for o in Outcome},
            job_pages=self.counters[(key_hash, f"job_pages_{period.date}")],
        )
        month = CallCounts(calls=self.counters[(key_hash, f"calls_{period.month}")], requests=0, outcomes={})
        return today, month, self.counters[(key_hash, "calls_total")] if lifetime else None


class BoundCipher:
    """A ``SecretCipher`` whose sealed bytes name their SecretId (not secret, but bound as KMS
    binds them): opening under another SecretId fails. Counts its openings."""

    def __init__(self) -> None:
        self.opened = 0

    def seal(self, secret_id: str, secret_key: str) -> bytes:
        return f"{secret_id}|{secret_key}".encode()

    def open(self, secret_id: str, sealed: bytes, deadline: float | None = None) -> str:
        self.opened += 1
        bound_to, secret_key = sealed.decode().split("|")
        if bound_to != secret_id:
            raise ValueError("sealed for another SecretId")
        return secret_key


def line(text: str, confidence: float = 0.9, engine: str = "tesseract", top: int = 10) -> TextLine:
    box = BoundingBox(10, top, 8 * len(text), 20)
    return TextLine(
        text=text,
        box=box,
        confidence=confidence,
        block=1,
        paragraph=1,
        line=1,
        words=(),
        quad=box.corners,
        engine=engine,
    )


class ScriptedRecognizer:
    """Reads each image as ``read`` says (a function of the image's bytes), remembering how it
    was asked."""

    def __init__(self, read: Callable[[bytes], tuple[TextLine, ...]] = lambda data: (line("text"),)) -> None:
        self.read = read
        self.calls: list[tuple[list[bytes], float, RecognitionOptions]] = []

    def recognize_many(
        self, images: list[bytes], deadline: float, options: RecognitionOptions = RecognitionOptions()
    ) -> list[RecognitionResult]:
        self.calls.append((images, deadline, options))
        return [
            RecognitionResult(lines=self.read(data), image_width=100, image_height=50, languages="eng", angle=0.0)
            for data in images
        ]

    def check_options(self, options: RecognitionOptions, deadline: float) -> None:
        # As the page workers check them: Tesseract reads eng, no deep engine is deployed.
        languages = requested_languages(options.languages, "eng", ("eng",))
        engine_choice(options.engine, "tesseract", languages, None)

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


class FixedFetcher:
    """Serves ``bytes_by_url``; remembers each download's deadline and referer."""

    def __init__(self, bytes_by_url: dict[str, bytes]) -> None:
        self.bytes_by_url = bytes_by_url
        self.downloads: list[tuple[str, float | None, str | None]] = []

    def fetch(self, url: str, deadline: float | None = None, referer: str | None = None) -> bytes:
        self.downloads.append((url, deadline, referer))
        return self.bytes_by_url[url]


class InMemoryBucket:
    """The upload bucket's two calls, over a dict: a presigned POST is the object key it names,
    and an upload is put straight in ``objects`` with the time S3 would give it."""

    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.offered: list[str] = []

    def presigned_post(self, object_key: str, content_type: str, max_bytes: int, seconds: int) -> PresignedPost:
        self.offered.append(object_key)
        fields = {"key": object_key, "Content-Type": content_type}
        return PresignedPost("https://uploads.example/", fields, datetime.now(UTC) + timedelta(seconds=seconds))

    def read(self, object_key: str, max_bytes: int, deadline: float) -> StoredObject:
        if object_key not in self.objects:
            raise UploadNotFound("no upload has this upload_id")
        stored = self.objects[object_key]
        if len(stored.data) > max_bytes:
            raise ImageTooManyBytes(f"the upload is {len(stored.data)} bytes; the limit is {max_bytes} bytes")
        return stored

    def upload(self, offered_key: str, data: bytes, at: datetime) -> None:
        self.objects[offered_key] = StoredObject(data, at)


class ScriptedEngine:
    """An ``OcrEngine`` that reads every page as the same lines and never sees a turned page;
    it remembers each call's layout and deadline."""

    def __init__(
        self,
        lines: list[TextLine],
        installed_languages: tuple[str, ...] = ("eng", "fake"),
        fails_with: Exception | None = None,
    ) -> None:
        self.lines = lines
        self.installed_languages = installed_languages
        self.fails_with = fails_with
        self.reads: list[tuple[str, float, PageLayout]] = []
        self.orientation_checks: list[float] = []
        # As the deep engine's function is asked: whether it may turn the page.
        self.orientation_allowed: list[bool] = []

    def load(self, languages: str) -> None:
        pass  # nothing to load

    def read_lines(
        self, image: PreparedImage, languages: str, deadline: float, layout: PageLayout = PageLayout.AUTO
    ) -> list[TextLine]:
        self.reads.append((languages, deadline, layout))
        if self.fails_with is not None:
            raise self.fails_with
        return list(self.lines)

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        self.orientation_checks.append(deadline)
        return UPRIGHT_UNSURE

    def read_page(
        self,
        image: PreparedImage,
        languages: str,
        deadline: float,
        layout: PageLayout = PageLayout.AUTO,
        find_orientation: bool = True,
    ) -> tuple[list[TextLine], int]:
        self.orientation_allowed.append(find_orientation)
        return self.read_lines(image, languages, deadline, layout), 0
