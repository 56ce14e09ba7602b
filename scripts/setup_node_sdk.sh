#!/usr/bin/env bash
# Installs what the tests of the Tencent dialect run besides Python: Node.js and Tencent Cloud's
# official Node.js SDK (pinned in tests/node_sdk/package-lock.json), a second real client.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing nodejs and npm with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
stamp="tests/node_sdk/node_modules/.installed-$(sha256sum tests/node_sdk/package-lock.json | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing Tencent's Node.js SDK into tests/node_sdk"
  npm ci --prefix tests/node_sdk --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
