"""Building request bodies the way HTTP clients (curl -F, browsers) do."""

from __future__ import annotations

import uuid


def multipart_form(
    fields: list[tuple[str, str]] = (),
    files: list[tuple[str, str | None, str, bytes]] = (),
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """Returns (Content-Type, body). ``files`` holds (field, filename, content type, bytes)."""
    boundary = boundary or f"------------------------{uuid.uuid4().hex[:24]}"
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    for name, filename, content_type, data in files:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)
