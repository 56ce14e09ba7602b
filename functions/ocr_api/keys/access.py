"""Deciding whether a request's appkey may call an API right now."""

from __future__ import annotations

import time
from collections.abc import Callable

from ocr_api.errors import AppKeyForbidden, AppKeyMissing, AppKeyUnknown, QuotaExceeded, RateLimited
from ocr_api.keys.model import AppKey, KeyStatus, hash_appkey
from ocr_api.keys.store import AppKeyStore, utc_now

_CACHE_MAX_ENTRIES = 1024


class AccessGuard:
    """Checks a key (cached per warm container) and counts it against its per-second limit."""

    def __init__(
        self,
        store: AppKeyStore,
        cache_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, AppKey | None]] = {}

    def admit(self, appkey: str | None, api: str) -> AppKey:
        if not appkey:
            raise AppKeyMissing("the appkey parameter is required")
        key = self._look_up(hash_appkey(appkey))
        if key is None:
            raise AppKeyUnknown("the appkey is not valid")
        if key.status is not KeyStatus.ACTIVE:
            raise AppKeyForbidden("the appkey is disabled")
        if key.is_expired(utc_now()):
            raise AppKeyForbidden("the appkey has expired")
        if not key.allows(api):
            raise AppKeyForbidden("the appkey is not allowed to call this API")
        if not self.store.admit_request(key.key_hash, int(self.clock()), key.requests_per_second):
            raise RateLimited(
                f"more than {key.requests_per_second} requests per second for this appkey"
            )
        if key.request_quota is not None and not self.store.use_quota(key.key_hash, key.request_quota):
            raise QuotaExceeded(f"the appkey has used all {key.request_quota} requests of its quota")
        return key

    def _look_up(self, key_hash: str) -> AppKey | None:
        now = self.clock()
        cached = self._cache.get(key_hash)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        key = self.store.get(key_hash)
        if len(self._cache) >= _CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[key_hash] = (now, key)
        return key
