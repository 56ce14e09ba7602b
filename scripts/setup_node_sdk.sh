#!/usr/bin/env bash
# Installs what the tests of the Tencent dialect run besides Python: Node.js and Tencent Cloud's
# official Node.js SDK (pinned in tests/node_sdk/package-lock.json), a second real client.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh
install_for_commands node:nodejs npm:npm
stamp="tests/node_sdk/node_modules/.installed-$(sha256sum tests/node_sdk/package-lock.json | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing Tencent's Node.js SDK into tests/node_sdk"
  npm ci --prefix tests/node_sdk --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
