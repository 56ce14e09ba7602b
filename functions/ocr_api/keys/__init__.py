"""Appkeys and plans: keys stored hashed in DynamoDB, checked, limited and counted per request."""

from ocr_api.keys.access import AccessGuard, Admission
from ocr_api.keys.model import AppKey, KeyStatus, hash_appkey, new_appkey
from ocr_api.keys.plans import DEFAULT_PLAN, Plan, UsagePeriod
from ocr_api.keys.store import AppKeyStore
from ocr_api.keys.usage import Outcome, UsageReport

__all__ = [
    "DEFAULT_PLAN",
    "AccessGuard",
    "Admission",
    "AppKey",
    "AppKeyStore",
    "KeyStatus",
    "Outcome",
    "Plan",
    "UsagePeriod",
    "UsageReport",
    "hash_appkey",
    "new_appkey",
]
