#!/usr/bin/env bash
# Installs what the console's browser tests need besides Python: Debian's Chromium (Playwright
# drives it; Playwright's own browser download is not used) and axe-core, the accessibility engine
# the tests run in the page (pinned in tests/browser/package-lock.json).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh
install_for_commands chromium:chromium node:nodejs npm:npm
stamp="tests/browser/node_modules/.installed-$(sha256sum tests/browser/package-lock.json | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing axe-core into tests/browser"
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
