"""Jobs' messages from SQS, as Lambda's event source mapping hands them to the job worker: one
page to read (or one job to plan) each, the dead-letter queue's as pages given up.

A message the worker could not finish is reported in ``batchItemFailures``: SQS gives it again
after its visibility timeout, and after the queue's maxReceiveCount moves it to the dead-letter
queue, whose messages come here too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from ocr_api.config import Settings
from ocr_api.service.budget import Budget
from ocr_api.service.jobs import Jobs, PageToRetry

logger = logging.getLogger(__name__)


def job_messages_handler(jobs: Jobs, settings: Settings) -> Callable[[dict, object], dict]:
    """A handler for batches of job messages, reading them with ``jobs``."""

    def handle(event: dict, context) -> dict:
        failures = []
        for record in event.get("Records", []):
            try:
                _handle(jobs, settings, record, context)
            except PageToRetry as retry:
                logger.info("job page to be read again", extra={"reason": str(retry)})
                failures.append({"itemIdentifier": record["messageId"]})
            except Exception:
                logger.exception("job message failed")
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return handle


def _handle(jobs: Jobs, settings: Settings, record: dict, context) -> None:
    message = json.loads(record["body"])
    given_up = record.get("eventSourceARN") == settings.jobs_dead_letter_queue_arn
    deadline = Budget.for_request(context, settings).recognition_deadline
    job_id = message["job_id"]
    if "callback" in message:
        if given_up:
            jobs.give_up_callback(job_id, int(message["callback"]), deadline)
        else:
            jobs.deliver_callback(job_id, int(message["callback"]), deadline)
    elif "page" not in message:
        (jobs.give_up_plan if given_up else jobs.plan)(job_id, deadline)
    elif given_up:
        jobs.give_up_page(job_id, int(message["page"]), deadline)
    else:
        attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        jobs.read_page(job_id, int(message["page"]), attempt, deadline)
