"""A page worker gone bad, as one reading hostile bytes might be made to: it speaks the frame
protocol, says it is ready, takes a page, and then misbehaves as its start-up frame says
(``misbehaves``): a frame header announcing a gigabyte, or deep-engine readings without end."""

from __future__ import annotations

import json
import os
import sys

from ocr_api.service.worker_protocol import receive_frame, send_frame


def main() -> None:
    frames_in, frames_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    start = json.loads(receive_frame(frames_in, None))
    # How it misbehaves comes where a real worker's languages come.
    misbehaves = start["settings"]["languages"]
    send_frame(frames_out, json.dumps({"ready": True, "languages": ["eng"]}).encode())
    while True:
        try:
            receive_frame(frames_in, None)  # the job
            receive_frame(frames_in, None)  # the page
        except EOFError:
            return
        send_frame(frames_out, b'{"received": true}')
        send_frame(frames_out, b'{"decoded": true}')
        if misbehaves == "huge_frame":
            frames_out.write((1 << 30).to_bytes(4, "big") + b"{")
            frames_out.flush()
        else:
            while True:  # asks for the deep engine again and again, for the same page
                send_frame(frames_out, json.dumps({"deep_read": {"languages": "eng", "layout": "auto",
                                                            "deadline": 1e12}}).encode())
                send_frame(frames_out, b"page")
                receive_frame(frames_in, None)


if __name__ == "__main__":
    main()
