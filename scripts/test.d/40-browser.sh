#!/usr/bin/env bash
# Browser tests (tests/browser): Playwright (playwright-core) drives Debian's Chromium
# against the real server on 127.0.0.1; every *.test.mjs there runs. Screenshots land in
# tests/browser/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "playwright-core is not installed (run .ci/run, or: npm ci --prefix tests/browser)" >&2
  exit 1
fi
# The liveview binary is a development feature of the app, never built by default.
cargo build -q -p avondronde-server -p avondronde-app --bins --features avondronde-app/liveview --locked
npm test --prefix tests/browser
