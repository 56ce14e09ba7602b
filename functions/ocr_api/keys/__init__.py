"""The domain of appkeys and plans: keys stored hashed, checked, limited and counted per
request, against a ``KeyRepository`` (DynamoDB in ``ocr_api.adapters.dynamodb_keys``)."""

from ocr_api.keys.access import AccessGuard, Admission
from ocr_api.keys.model import AppKey, KeyStatus, hash_appkey, new_appkey
from ocr_api.keys.plans import DEFAULT_PLAN, Plan, UsagePeriod
from ocr_api.keys.repository import KeyRepository
from ocr_api.keys.usage import Outcome, UsageReport

__all__ = [
    "DEFAULT_PLAN",
    "AccessGuard",
    "Admission",
    "AppKey",
    "KeyRepository",
    "KeyStatus",
    "Outcome",
    "Plan",
    "UsagePeriod",
    "UsageReport",
    "hash_appkey",
    "new_appkey",
]
