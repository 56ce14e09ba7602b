"""Appkeys: stored hashed in DynamoDB, checked and rate-limited on every request."""

from ocr_api.keys.access import AccessGuard
from ocr_api.keys.model import AppKey, KeyStatus, hash_appkey, new_appkey
from ocr_api.keys.store import AppKeyStore

__all__ = ["AccessGuard", "AppKey", "AppKeyStore", "KeyStatus", "hash_appkey", "new_appkey"]
