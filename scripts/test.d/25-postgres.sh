#!/usr/bin/env bash
# The server's suites and the end-to-end tests again, on PostgreSQL (issue 13): a throwaway
# cluster (Debian's `postgresql` package, installed by scripts/setup --test), started as the
# `postgres` user on loopback in a temporary directory and removed afterwards. Each test
# gets a database of its own, copied from a migrated template (see TestApp and TestServer).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "PostgreSQL is not installed: run scripts/setup --test" >&2
  exit 1
fi
D=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then
  chown postgres "$D"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
as_pg "$BIN/initdb" -D "$D/data" -A trust -U postgres >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$BIN/pg_ctl" -D "$D/data" -l "$D/log" -w -o "-k $D -c listen_addresses=127.0.0.1 -p $port \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
trap 'as_pg "$BIN/pg_ctl" -D "$D/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$D"' EXIT
export AVONDRONDE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port"

# Every server suite, every end-to-end test and every browser test (the PostgreSQL-only
# suites, which start clusters of their own, ran in the main `cargo test`). Built for the
# whole workspace, as the main `cargo test` built them: `-p` alone would resolve other
# features for the dependencies and build most of them a second time, in time and disk.
cargo test --workspace --locked \
  --test sync_api --test authorisation --test security --test web_admin --test care_forms \
  --test admin_rules --test hotspot_api --test hotspot_trends --test hotspot_privacy \
  --test open_care_forms --test log_privacy \
  --test server_e2e --test meldpunt_e2e --test app_sync --test app_kill --test app_keytrust

# The API fuzz run against the demo on PostgreSQL, set up with the admin command.
cargo build -q --workspace --bins --locked
target/debug/avondronde-server admin --database-url "$AVONDRONDE_TEST_POSTGRES/postgres" postgres-init
AVONDRONDE_DATABASE_URL="postgres://avondronde_app@127.0.0.1:$port/postgres" \
  bash scripts/test.d/30-schemathesis.sh

# The browser tests, each test file's server on a fresh database set up with the admin
# command (tests/browser/app-support.mjs, serverStore).
bash scripts/test.d/40-browser.sh
