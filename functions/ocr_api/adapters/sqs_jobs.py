"""The jobs' queue in SQS: one message per page to read (and one to plan a job), which the job
worker function receives through Lambda's event source mapping. botocore errors become domain
errors here and nowhere else."""

from __future__ import annotations

import json
import logging
from functools import cached_property

from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.adapters.dynamodb_keys import IN_REGION, AttemptTimeouts, call_in_attempts, store_failure
from ocr_api.errors import JobStoreUnavailable

logger = logging.getLogger(__name__)

# SQS takes at most ten messages in one SendMessageBatch.
_BATCH = 10


class JobQueue:
    def __init__(self, queue_url: str, endpoint_url: str | None = None, timeouts: AttemptTimeouts = IN_REGION):
        self.queue_url = queue_url
        self.timeouts = timeouts
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        return self.timeouts.client("sqs", self._endpoint_url)

    def send(self, messages: list[dict], deadline: float | None = None, delay_seconds: int = 0) -> None:
        """Sends each message (JSON), each received no sooner than ``delay_seconds`` from now
        (SQS's most: 900); ``JobStoreUnavailable`` when any could not be sent."""
        for start in range(0, len(messages), _BATCH):
            entries = [
                {"Id": str(index), "MessageBody": json.dumps(message), "DelaySeconds": min(delay_seconds, 900)}
                for index, message in enumerate(messages[start : start + _BATCH])
            ]
            if not self.timeouts.fit(deadline):
                raise JobStoreUnavailable("no time is left to queue the job's pages")
            try:
                answer = call_in_attempts(
                    self._client,
                    self.timeouts,
                    "send_message_batch",
                    deadline,
                    QueueUrl=self.queue_url,
                    Entries=entries,
                )
            except (ClientError, BotoCoreError) as err:
                raise store_failure("queue pages", err, "job queue", JobStoreUnavailable) from err
            if answer.get("Failed"):
                logger.error("job messages not queued", extra={"failed": len(answer["Failed"])})
                raise JobStoreUnavailable("the job queue is unavailable; try again shortly")
