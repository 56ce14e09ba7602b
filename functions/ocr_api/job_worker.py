"""The job worker function's entry point (template.yaml's JobWorkerFunction): jobs' messages from
SQS (``ocr_api.job_messages``), pages read by page workers as the API function reads images.

Importing it is the instance's INIT: a page worker is started first, as in ``ocr_api.app``.
"""

from __future__ import annotations

from ocr_api.config import Settings
from ocr_api.service.page_workers import first_worker_started

_settings = Settings.from_environment()
_workers = first_worker_started(_settings)

from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers  # noqa: E402

from ocr_api.dialects.jobs import JobRendering  # noqa: E402
from ocr_api.job_messages import job_messages_handler  # noqa: E402
from ocr_api.service.metering import metrics  # noqa: E402
from ocr_api.service.ocr_service import build_service  # noqa: E402

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"ocr_api"})

_service = build_service(_settings, workers=_workers, job_rendering=JobRendering())
if _service.jobs is None:
    raise RuntimeError("the job worker needs JOBS_TABLE, JOBS_QUEUE_URL and UPLOADS_BUCKET")
handler = logger.inject_lambda_context(metrics.log_metrics(job_messages_handler(_service.jobs, _settings)))
