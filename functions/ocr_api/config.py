"""Settings, read once at cold start from the environment the template sets."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

_ENGINES = ("tesseract", "ppocr", "auto")
_LANGUAGES = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")
MiB = 1024 * 1024
# What the handler's own process keeps of the function's memory (it holds the request, not pages).
HANDLER_MEMORY_MB = 256
# The least address space a page worker reads ordinary pages in.
MIN_WORKER_MEMORY_MB = 640


class ConfigurationError(ValueError):
    """A setting is missing or out of its bounds; raised at start-up, never per request."""


@dataclass(frozen=True)
class Settings:
    appkeys_table: str = "ocr-appkeys"
    dynamodb_endpoint_url: str | None = None
    languages: str = "chi_sim+eng"
    max_image_bytes: int = 10 * MiB
    max_image_pixels: int = 40_000_000
    # Bigger images are scaled down to this many pixels before recognition (not when slicing).
    max_recognition_pixels: int = 12_000_000
    # The models directory: where the Tesseract layer puts them.
    tessdata_dir: str = "/opt/share/tessdata"
    # The engine's class, as "module:name". Not read from the environment: tests put a stand-in
    # here to inject the engine's faults.
    engine: str = "ocr_api.ocr.tesseract:Tesseract"
    max_recognition_seconds: float = 25.0
    # Time kept back from the Lambda deadline to build and send the answer.
    response_reserve_seconds: float = 1.0
    appkey_cache_seconds: float = 30.0
    # Where the day (and month) of daily and monthly quotas begins, as a UTC offset.
    quota_utc_offset: str = "+00:00"
    # Image URLs: private networks (CIDRs) that may be fetched anyway; empty in production.
    url_allowed_networks: tuple[str, ...] = ()
    url_timeout_seconds: float = 10.0
    max_images_per_request: int = 10
    # tupu's own rule is 1 MiB per image; ours defaults to the general limit.
    tupu_max_image_bytes: int = 10 * MiB
    # Images of one request read at once, each by its own single-threaded Tesseract.
    parallel_images: int = 2
    # How long decoding or rendering one page may take in its worker before it is stopped.
    max_decode_seconds: float = 10.0
    # The Lambda's memory (Lambda says it in AWS_LAMBDA_FUNCTION_MEMORY_SIZE): the workers'
    # memory caps are cut from it, unless WORKER_MEMORY_MB sets each worker's cap itself.
    function_memory_mb: int = 1769
    worker_memory_mb: int | None = None
    # The deep-learning engine's Lambda function (name or ARN), when the deployment has one.
    deep_engine_function: str | None = None
    # Where its Invoke calls go: Lambda's own endpoint unless a local runtime stands in.
    lambda_endpoint_url: str | None = None
    # The engine a request gets when it names none: tesseract, ppocr or auto.
    default_engine: str = "auto"
    # The KMS key that seals Tencent SecretKeys (ARN, id or alias); None: signed requests are
    # refused. Its endpoint is KMS's own unless a local one stands in.
    tencent_secrets_key: str | None = None
    kms_endpoint_url: str | None = None
    # The S3 bucket clients upload large files to (POST /v1/uploads); None: uploads are not
    # deployed. Its endpoint is S3's own unless a local one stands in.
    uploads_bucket: str | None = None
    s3_endpoint_url: str | None = None
    # The largest upload S3 accepts, and so the most bytes read from one by reference.
    max_upload_bytes: int = 50 * MiB
    # How long a presigned upload may be used once issued.
    upload_url_seconds: int = 900
    # Jobs: their table and queue (None: not deployed), the most pages one reads, and how often
    # a page's message is received before it goes to the dead-letter queue (the queue's
    # maxReceiveCount, which the template sets from the same parameter).
    jobs_table: str | None = None
    jobs_queue_url: str | None = None
    # The dead-letter queue's ARN: its messages are pages given up (the job worker's only).
    jobs_dead_letter_queue_arn: str | None = None
    sqs_endpoint_url: str | None = None
    max_job_pages: int = 1000
    job_page_attempts: int = 3
    # A job's callback that failed is tried again after this, doubled each time (at most 900).
    callback_retry_seconds: int = 30

    def __post_init__(self) -> None:
        _check(bool(self.appkeys_table), "APPKEYS_TABLE must name the appkeys table")
        _check(bool(_LANGUAGES.match(self.languages)), "OCR_LANGUAGES must look like chi_sim+eng")
        _check(1024 <= self.max_image_bytes <= 50 * MiB, "MAX_IMAGE_BYTES must be 1 KiB..50 MiB")
        _check(10_000 <= self.max_image_pixels <= 200_000_000, "MAX_IMAGE_PIXELS must be 1e4..2e8")
        _check(
            1_000_000 <= self.max_recognition_pixels <= 200_000_000,
            "MAX_RECOGNITION_PIXELS must be 1e6..2e8",
        )
        _check(1 <= self.max_recognition_seconds <= 900, "MAX_RECOGNITION_SECONDS must be 1..900")
        _check(0 <= self.response_reserve_seconds <= 10, "RESPONSE_RESERVE_SECONDS must be 0..10")
        _check(0 <= self.appkey_cache_seconds <= 3600, "APPKEY_CACHE_SECONDS must be 0..3600")
        try:
            parse_utc_offset(self.quota_utc_offset)
        except ValueError as err:
            raise ConfigurationError(f"QUOTA_UTC_OFFSET: {err}") from None
        _check(1 <= self.url_timeout_seconds <= 60, "URL_TIMEOUT_SECONDS must be 1..60")
        _check(1 <= self.max_images_per_request <= 50, "MAX_IMAGES_PER_REQUEST must be 1..50")
        _check(1024 <= self.tupu_max_image_bytes <= 50 * MiB, "TUPU_MAX_IMAGE_BYTES must be 1 KiB..50 MiB")
        _check(1 <= self.parallel_images <= 16, "PARALLEL_IMAGES must be 1..16")
        _check(1 <= self.max_decode_seconds <= 60, "MAX_DECODE_SECONDS must be 1..60")
        _check(
            HANDLER_MEMORY_MB + MIN_WORKER_MEMORY_MB <= self.function_memory_mb <= 10240,
            f"AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be {HANDLER_MEMORY_MB + MIN_WORKER_MEMORY_MB}..10240",
        )
        _check(
            self.worker_memory_mb is None or 128 <= self.worker_memory_mb < self.function_memory_mb,
            "WORKER_MEMORY_MB must be 128.. and under the function's memory",
        )
        _check(self.default_engine in _ENGINES, "DEFAULT_ENGINE must be tesseract, ppocr or auto")
        _check(
            self.default_engine != "ppocr" or bool(self.deep_engine_function),
            "DEFAULT_ENGINE ppocr needs DEEP_ENGINE_FUNCTION",
        )
        _check(MiB <= self.max_upload_bytes <= 200 * MiB, "MAX_UPLOAD_BYTES must be 1 MiB..200 MiB")
        _check(60 <= self.upload_url_seconds <= 3600, "UPLOAD_URL_SECONDS must be 60..3600")
        _check(1 <= self.max_job_pages <= 10_000, "MAX_JOB_PAGES must be 1..10000")
        _check(1 <= self.job_page_attempts <= 10, "JOB_PAGE_ATTEMPTS must be 1..10")
        _check(1 <= self.callback_retry_seconds <= 900, "CALLBACK_RETRY_SECONDS must be 1..900")
        for network in self.url_allowed_networks:
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise ConfigurationError(f"URL_ALLOWED_NETWORKS: {network!r} is not a CIDR") from None

    @property
    def worker_memory_bytes(self) -> int:
        """Each page worker's address-space cap: what the handler leaves, shared by the workers
        that may run at once, never under what a worker needs to read an ordinary page."""
        if self.worker_memory_mb is not None:
            return self.worker_memory_mb * MiB
        share = (self.function_memory_mb - HANDLER_MEMORY_MB) // self.parallel_images
        return max(share, MIN_WORKER_MEMORY_MB) * MiB

    @property
    def largest_image_bytes(self) -> int:
        """The most bytes any one image may have: a page worker's ceiling, which each request
        narrows to its own source's limit (an upload's, or an image's as sent)."""
        return max(self.max_image_bytes, self.max_upload_bytes)

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(network) for network in self.url_allowed_networks)

    @property
    def quota_day_offset(self) -> timedelta:
        return parse_utc_offset(self.quota_utc_offset)

    @staticmethod
    def tracing_enabled_in_environment(environ: Mapping[str, str] = os.environ) -> bool:
        """Powertools' own switch, which the template sets from its EnableTracing parameter."""
        return environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() != "true"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        defaults = cls()

        def text(name: str, default: str | None) -> str | None:
            value = environ.get(name, "").strip()
            return value or default

        def number(name: str, default: float, kind: type = int):
            value = text(name, None)
            if value is None:
                return default
            try:
                return kind(value)
            except ValueError:
                raise ConfigurationError(f"{name} must be a number, not {value!r}") from None

        return cls(
            appkeys_table=text("APPKEYS_TABLE", defaults.appkeys_table),
            dynamodb_endpoint_url=text("DYNAMODB_ENDPOINT_URL", None),
            languages=text("OCR_LANGUAGES", defaults.languages),
            max_image_bytes=number("MAX_IMAGE_BYTES", defaults.max_image_bytes),
            max_image_pixels=number("MAX_IMAGE_PIXELS", defaults.max_image_pixels),
            max_recognition_pixels=number("MAX_RECOGNITION_PIXELS", defaults.max_recognition_pixels),
            tessdata_dir=text("TESSDATA_PREFIX", defaults.tessdata_dir),
            max_recognition_seconds=number("MAX_RECOGNITION_SECONDS", defaults.max_recognition_seconds, float),
            response_reserve_seconds=number("RESPONSE_RESERVE_SECONDS", defaults.response_reserve_seconds, float),
            appkey_cache_seconds=number("APPKEY_CACHE_SECONDS", defaults.appkey_cache_seconds, float),
            quota_utc_offset=text("QUOTA_UTC_OFFSET", defaults.quota_utc_offset),
            url_allowed_networks=tuple(
                network.strip() for network in (text("URL_ALLOWED_NETWORKS", "") or "").split(",") if network.strip()
            ),
            url_timeout_seconds=number("URL_TIMEOUT_SECONDS", defaults.url_timeout_seconds, float),
            max_images_per_request=number("MAX_IMAGES_PER_REQUEST", defaults.max_images_per_request),
            tupu_max_image_bytes=number("TUPU_MAX_IMAGE_BYTES", defaults.tupu_max_image_bytes),
            parallel_images=number("PARALLEL_IMAGES", defaults.parallel_images),
            max_decode_seconds=number("MAX_DECODE_SECONDS", defaults.max_decode_seconds, float),
            function_memory_mb=number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", defaults.function_memory_mb),
            worker_memory_mb=number("WORKER_MEMORY_MB", None),
            deep_engine_function=text("DEEP_ENGINE_FUNCTION", None),
            lambda_endpoint_url=text("LAMBDA_ENDPOINT_URL", None),
            default_engine=text("DEFAULT_ENGINE", defaults.default_engine),
            tencent_secrets_key=text("TENCENT_SECRETS_KEY", None),
            kms_endpoint_url=text("KMS_ENDPOINT_URL", None),
            uploads_bucket=text("UPLOADS_BUCKET", None),
            s3_endpoint_url=text("S3_ENDPOINT_URL", None),
            max_upload_bytes=number("MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            upload_url_seconds=number("UPLOAD_URL_SECONDS", defaults.upload_url_seconds),
            jobs_table=text("JOBS_TABLE", None),
            jobs_queue_url=text("JOBS_QUEUE_URL", None),
            jobs_dead_letter_queue_arn=text("JOBS_DEAD_LETTER_QUEUE_ARN", None),
            sqs_endpoint_url=text("SQS_ENDPOINT_URL", None),
            max_job_pages=number("MAX_JOB_PAGES", defaults.max_job_pages),
            job_page_attempts=number("JOB_PAGE_ATTEMPTS", defaults.job_page_attempts),
            callback_retry_seconds=number("CALLBACK_RETRY_SECONDS", defaults.callback_retry_seconds),
        )


def parse_utc_offset(text: str) -> timedelta:
    """``+08:00``, ``-05:30``, or ``Z``/``UTC``/empty for zero."""
    text = text.strip()
    if text.upper() in ("", "Z", "UTC"):
        return timedelta(0)
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if not match or int(match[2]) > 14 or int(match[3]) >= 60:
        raise ValueError(f"a UTC offset looks like +08:00, not {text!r}")
    sign = 1 if match[1] == "+" else -1
    return sign * timedelta(hours=int(match[2]), minutes=int(match[3]))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)
