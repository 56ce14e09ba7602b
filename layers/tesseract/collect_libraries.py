"""Copies the shared libraries a binary needs into a layer's lib/ folder.

    python3 collect_libraries.py BINARY LIB_DIR [--present-in LIST]

Every library ``ldd`` names is copied, except glibc's own (the runtime always has those) and,
with --present-in, those a file lists one name a line (what the runtime image already has).
Used by the Docker build and by the layer-layout proof alike. Python 3.9+, standard library.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

GLIBC = ("libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libresolv.so",
         "libutil.so", "ld-linux", "linux-vdso")


def needed_libraries(binary: Path) -> list[Path]:
    output = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    missing = [line.strip() for line in output.splitlines() if "not found" in line]
    if missing:
        raise SystemExit(f"{binary} needs libraries this machine lacks: {missing}")
    return [Path(line.split("=>")[1].split("(")[0].strip())
            for line in output.splitlines() if "=> /" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("binary", type=Path)
    parser.add_argument("lib_dir", type=Path)
    parser.add_argument("--present-in", type=Path, help="libraries the runtime already has")
    args = parser.parse_args()
    present = set(args.present_in.read_text().split()) if args.present_in else set()
    args.lib_dir.mkdir(parents=True, exist_ok=True)
    for library in needed_libraries(args.binary):
        if library.name.startswith(GLIBC) or library.name in present:
            continue
        shutil.copy2(library.resolve(), args.lib_dir / library.name)
        print(f"  {library.name}")


if __name__ == "__main__":
    main()
