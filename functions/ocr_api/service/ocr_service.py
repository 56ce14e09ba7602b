"""The use case every dialect calls: admit the key -> load the images -> recognise -> settle.

``OcrService`` holds what a request needs (settings, the page workers, the access rules, the URL
fetcher), handed to it explicitly; ``build_service`` makes the production set from settings,
once per Lambda instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from typing import TYPE_CHECKING

from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.adapters.kms_secrets import KmsSecretCipher
from ocr_api.adapters.s3_files import FilesBucket
from ocr_api.adapters.url_fetcher import FetchLimits, UrlFetcher
from ocr_api.config import Settings
from ocr_api.errors import NoTextFound, ServiceError
from ocr_api.keys import AccessGuard, KeyRepository, Outcome, UsageReport
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.service.budget import Budget
from ocr_api.service.metering import MeasuredRecognizer, outcome_of
from ocr_api.service.page_workers import IsolatedRecognizer, page_workers
from ocr_api.service.request import OcrRequest
from ocr_api.service.sources import load_images
from ocr_api.service.uploads import UPLOADING_API, UploadOffer, UploadRef, Uploads

if TYPE_CHECKING:
    from ocr_api.service.jobs import JobRendering, Jobs


@dataclass
class OcrService:
    settings: Settings
    recognizer: MeasuredRecognizer
    access: AccessGuard
    fetcher: UrlFetcher
    uploads: Uploads
    # Many pages read asynchronously; None where the deployment has no jobs table and queue.
    jobs: Jobs | None = None
    # The sample page's texts, read once per instance (the page never changes).
    _sample_texts: list[str] | None = field(default=None, init=False, repr=False)

    def recognize(self, request: OcrRequest, budget: Budget) -> list[RecognitionResult]:
        """One result per image, in order. The request is charged one call per image when its
        key is admitted, and settled before this returns or raises: a failure on our side gives
        the calls back, and nothing is ever counted twice."""
        options = self._with_byte_limit(request)
        # Options that no page can be read with are the client's error, refused before charging.
        self.recognizer.check_options(options, budget.recognition_deadline)
        admission = self.access.admit(request.caller, request.api, len(request.images), budget.key_store_deadline)
        try:
            images = load_images(
                request.images,
                self.fetcher,
                self.uploads,
                admission.key,
                budget.recognition_deadline,
                request.referer,
            )
            results = self.recognizer.recognize_many(images, budget.recognition_deadline, options)
            if request.text_required and not any(result.lines for result in results):
                raise NoTextFound("no text was found in the image")
        except ServiceError as err:
            self.access.settle(admission, outcome_of(err), refund=err.refunded, pages_read=err.pages_read)
            raise
        except Exception:
            self.access.settle(admission, Outcome.SERVER_ERROR, refund=True)
            raise
        self.access.settle(admission, Outcome.OK, refund=False)
        return results

    def offer_upload(self, appkey: str | None, content_type: str, budget: Budget) -> UploadOffer:
        """A presigned upload for the key; asking is held to the plan's rate, and uses no quota
        (reading the file later is the call)."""
        admission = self.access.admit(appkey, UPLOADING_API, 0, budget.key_store_deadline)
        return self.uploads.offer(admission.key, content_type)

    def _with_byte_limit(self, request: OcrRequest) -> RecognitionOptions:
        """The request's options with its images' byte limit: an upload's where the images are
        uploads, else the one for images sent or downloaded; a dialect's own may be lower."""
        uploaded = any(isinstance(source, UploadRef) for source in request.images)
        limit = self.settings.max_upload_bytes if uploaded else self.settings.max_image_bytes
        asked = request.options.max_image_bytes
        return replace(request.options, max_image_bytes=min(asked, limit) if asked else limit)

    def usage(self, appkey: str | None, budget: Budget) -> UsageReport:
        """The key's plan and what it used; asking is held to the plan's rate, and uses no quota."""
        admission = self.access.admit(appkey, None, 0, budget.key_store_deadline)
        return self.access.usage(admission.key, budget.key_store_deadline)

    def sample_texts(self, budget: Budget) -> list[str]:
        """The texts of the sample page the demo endpoints show, read without a key."""
        if self._sample_texts is None:
            image = resources.files("ocr_api.service").joinpath("demo.png").read_bytes()
            [result] = self.recognizer.recognize_many([image], budget.recognition_deadline)
            self._sample_texts = result.texts
        return self._sample_texts

    def start(self) -> None:
        """Starts the first page worker now, so that the first request does not wait for it;
        the others start with the first request that has pages for them."""
        self.recognizer.start(count=1)

    def close(self) -> None:
        self.recognizer.close()


def build_service(
    settings: Settings,
    store: KeyRepository | None = None,
    workers: IsolatedRecognizer | None = None,
    job_rendering: JobRendering | None = None,
) -> OcrService:
    """The production set: page workers reading with Tesseract and, where deployed, PP-OCR's
    function (``workers``, if they were started already), keys in DynamoDB (or ``store``), Tencent
    SecretKeys sealed by KMS, the safe URL fetcher, uploads in S3; and jobs where deployed, their
    pages written with ``job_rendering``."""
    recognizer = workers or page_workers(settings)
    service = OcrService(
        settings=settings,
        recognizer=MeasuredRecognizer(recognizer),
        access=AccessGuard(
            store or AppKeyStore(settings.appkeys_table, settings.dynamodb_endpoint_url),
            cache_seconds=settings.appkey_cache_seconds,
            utc_offset=settings.quota_day_offset,
            cipher=(
                KmsSecretCipher(settings.tencent_secrets_key, settings.kms_endpoint_url)
                if settings.tencent_secrets_key
                else None
            ),
        ),
        fetcher=UrlFetcher(
            FetchLimits(max_bytes=settings.max_image_bytes, total_timeout=settings.url_timeout_seconds),
            settings.allowed_networks,
        ),
        uploads=Uploads(
            FilesBucket(settings.uploads_bucket, settings.s3_endpoint_url) if settings.uploads_bucket else None,
            settings.max_upload_bytes,
            settings.upload_url_seconds,
        ),
    )
    if settings.jobs_table and settings.jobs_queue_url and settings.uploads_bucket and job_rendering:
        from ocr_api.service.jobs import build_jobs

        service.jobs = build_jobs(settings, service, job_rendering)
    return service
