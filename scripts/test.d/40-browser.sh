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
# The liveview binary is a development feature of the app, never built by default. The
# whole workspace, so that the build shares the test build's dependencies.
cargo build -q --workspace --bins --features avondronde-app/liveview --locked
# Each test file makes its own work and Chromium profile directories under the temporary
# directory; give the run one of its own and remove it afterwards, so that runs leave nothing.
TMPDIR=$(mktemp -d)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
npm test --prefix tests/browser
