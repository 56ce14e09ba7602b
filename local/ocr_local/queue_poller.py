"""Lambda's SQS event source mapping, for the local server: the template's queues in the
embedded moto server, polled and handed to the function's warm instances as SQS events.

As Lambda does it: up to ``BatchSize`` messages an event; a message the function reports in
``batchItemFailures`` (or every message of an event that failed or timed out) is left on the
queue, to be received again once its visibility timeout has passed; the queue's redrive policy
(moto applies it) moves a message received ``maxReceiveCount`` times to the dead-letter queue.
One poller per instance of the function, so that the instances read messages at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading

import boto3

from ocr_local.lambda_runtime import LambdaInstances
from ocr_local.template import ApiSpec, QueueEvent

logger = logging.getLogger(__name__)

# moto's account and region, in which the local queues live.
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
# Short polls, a pause between empty ones, growing while the queue stays empty: the embedded moto
# server answers its services' requests one at a time (see EmbeddedDynamoDB), and a long poll
# would hold every other call for its wait.
_PAUSE_SECONDS = 0.2
_LONGEST_PAUSE_SECONDS = 2.0


def queue_url(endpoint_url: str, name: str) -> str:
    return f"{endpoint_url}/{LOCAL_ACCOUNT}/{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"


def create_queues(
    endpoint_url: str, spec: ApiSpec, names: dict[str, str], visibility_seconds: int | None = None
) -> dict[str, str]:
    """The template's queues (dead-letter queues first), with their visibility timeouts and
    redrive policies; their URLs by logical id. ``visibility_seconds`` stands in for every
    queue's own (a test's shorter wait for a message to come back)."""
    sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name=LOCAL_REGION)
    urls = {}
    ordered = sorted(spec.queues.items(), key=lambda item: "RedrivePolicy" in item[1])
    for logical_id, properties in ordered:
        attributes = {
            "VisibilityTimeout": str(
                visibility_seconds if visibility_seconds is not None else properties.get("VisibilityTimeout", 30)
            ),
            "MessageRetentionPeriod": str(properties.get("MessageRetentionPeriod", 345600)),
        }
        redrive = properties.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]  # "local:<LogicalId>.Arn" from the template
            dead_letters = names[target.removeprefix("local:").removesuffix(".Arn")]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": queue_arn(dead_letters), "maxReceiveCount": int(redrive["maxReceiveCount"])}
            )
        urls[logical_id] = sqs.create_queue(QueueName=names[logical_id], Attributes=attributes)["QueueUrl"]
    return urls


class QueuePoller:
    """Polls one queue for one function, ``pollers`` at a time."""

    def __init__(
        self, endpoint_url: str, url: str, arn: str, event: QueueEvent, instances: LambdaInstances, pollers: int
    ) -> None:
        self._sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name=LOCAL_REGION)
        self.url, self.arn, self.event, self.instances = url, arn, event, instances
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(pollers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _poll(self) -> None:
        pause = _PAUSE_SECONDS
        while not self._stopping.is_set():
            try:
                received = self._sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=self.event.batch_size,
                    WaitTimeSeconds=0,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if not self._stopping.is_set():
                    logger.exception("queue not polled")
                self._stopping.wait(_PAUSE_SECONDS)
                continue
            if received:
                self._deliver(received)
                pause = _PAUSE_SECONDS
            else:
                self._stopping.wait(pause)
                pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)

    def _deliver(self, messages: list[dict]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        try:
            answer = self.instances.invoke(event)
        except Exception as err:  # the function failed, crashed or timed out: every message stays
            logger.info("queue event failed; its messages come back", extra={"error": type(err).__name__})
            return
        failed = {
            failure.get("itemIdentifier")
            for failure in (answer or {}).get("batchItemFailures", [])
            if self.event.reports_item_failures
        }
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def _record(self, message: dict) -> dict:
        return sqs_record(message, self.arn)


def sqs_record(message: dict, queue_arn: str) -> dict:
    """A message ReceiveMessage gave, as Lambda's event source mapping writes it in an event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }
