"""The API's OpenAPI description, as the local server serves it at /openapi.yaml and /openapi.json.

``openapi.yaml`` names API Gateway's URL as its server; what is served names the local server
instead, so tools pointed at it (schemathesis, Swagger UI) call this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ocr_local.template import PROJECT_ROOT

OPENAPI_PATH = PROJECT_ROOT / "openapi.yaml"


def load_openapi(path: Path = OPENAPI_PATH) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class OpenApiDocuments:
    """The document for one base URL, rendered once in each format the local server offers."""

    def __init__(self, base_url: str, path: Path = OPENAPI_PATH) -> None:
        document = {**load_openapi(path), "servers": [{"url": base_url, "description": "The local server"}]}
        self._bodies = {
            "/openapi.yaml": (
                "application/yaml",
                yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8"),
            ),
            "/openapi.json": (
                "application/json",
                json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"),
            ),
        }

    def find(self, method: str, path: str) -> tuple[str, bytes] | None:
        """(Content-Type, body) when ``method path`` asks for the document, else None."""
        return self._bodies.get(path) if method in ("GET", "HEAD") else None
