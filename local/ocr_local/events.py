"""The files in ``events/``: one loader for ``invoke`` and the tests alike."""

from __future__ import annotations

import json

from ocr_local.template import PROJECT_ROOT

EVENTS_DIR = PROJECT_ROOT / "events"
# The appkey the events carry. ``invoke`` and the tests register it in their own store;
# it is never created in a deployed table.
EVENTS_APPKEY = "local-events-appkey-0000000000000000"


def load_event(name: str) -> dict:
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def event_names() -> list[str]:
    return sorted(path.stem for path in EVENTS_DIR.glob("*.json"))
