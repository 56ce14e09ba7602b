"""A page worker gone bad, as one reading hostile bytes might be made to: it speaks the worker
protocol, says it is ready, takes a page, and then misbehaves as its start-up settings say (where a
real worker's languages come): a frame header announcing a gigabyte, pages for the deep engine
without end, a page for it of no size, or a message out of turn."""

from __future__ import annotations

import os
import sys

from ocr_api.service.worker_protocol import (
    Decoded,
    DeepPage,
    Ready,
    Received,
    receive_frame,
    receive_message,
    send_frame,
    send_message,
)


def main() -> None:
    frames_in, frames_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    misbehaves = receive_message(frames_in, None).settings.languages
    send_message(frames_out, Ready(languages=("eng",)))
    while True:
        try:
            receive_message(frames_in, None)  # the job
            receive_frame(frames_in, None)  # the page
        except EOFError:
            return
        send_message(frames_out, Received())
        send_message(frames_out, Decoded())
        if misbehaves == "huge_frame":
            frames_out.write((1 << 30).to_bytes(4, "big") + b"{")
            frames_out.flush()
        elif misbehaves == "out_of_turn":
            send_message(frames_out, Ready(languages=("klingon",)))
        elif misbehaves == "page_of_no_size":
            send_message(frames_out, DeepPage("eng", "auto", True, 1e12, True, (0, 0)))
            send_frame(frames_out, b"page")
        else:
            for _ in range(100):  # hands the deep engine the same page again and again
                send_message(frames_out, DeepPage("eng", "auto", True, 1e12, True, (4, 4)))
                send_frame(frames_out, b"page")


if __name__ == "__main__":
    main()
