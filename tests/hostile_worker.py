"""A page worker gone bad, as one reading hostile bytes might be made to: it speaks the frame
protocol, says it is ready, takes a page, and then misbehaves as its start-up frame says
(``misbehaves``): a frame header announcing a gigabyte, or deep-engine readings without end."""

from __future__ import annotations

import json
import os
import sys

from ocr_api.service.page_worker import _receive, _send


def main() -> None:
    frames_in, frames_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    start = json.loads(_receive(frames_in, None))
    # How it misbehaves comes where a real worker's languages come.
    misbehaves = start["settings"]["languages"]
    _send(frames_out, json.dumps({"ready": True, "languages": ["eng"]}).encode())
    while True:
        try:
            _receive(frames_in, None)  # the job
            _receive(frames_in, None)  # the page
        except EOFError:
            return
        _send(frames_out, b'{"received": true}')
        _send(frames_out, b'{"decoded": true}')
        if misbehaves == "huge_frame":
            frames_out.write((1 << 30).to_bytes(4, "big") + b"{")
            frames_out.flush()
        else:
            while True:  # asks for the deep engine again and again, for the same page
                _send(frames_out, json.dumps({"deep_read": {"languages": "eng", "layout": "auto",
                                                            "deadline": 1e12}}).encode())
                _send(frames_out, b"page")
                _receive(frames_in, None)


if __name__ == "__main__":
    main()
