#!/usr/bin/env bash
# Fuzz the API against its own OpenAPI document on the demo server (issue 3): zero 5xx
# responses and zero responses that violate the spec. Authenticated as an enrolled field
# device, so the sync endpoints are exercised beyond their 401.
set -euo pipefail
cd "$(dirname "$0")/../.."

ST=target/venv/bin/schemathesis
if [ ! -x "$ST" ]; then
  echo "schemathesis is not installed (run .ci/run, or: python3 -m venv target/venv && target/venv/bin/pip install 'schemathesis<4')" >&2
  exit 1
fi

work=$(mktemp -d)
# The whole workspace's binaries, so that the build shares the test build's dependencies.
cargo build -q --workspace --bins --locked
# On SQLite, or on PostgreSQL when AVONDRONDE_DATABASE_URL names a prepared database
# (scripts/test.d/25-postgres.sh runs it that way too).
if [ -n "${AVONDRONDE_DATABASE_URL:-}" ]; then db_args=(); else db_args=(--db "$work/demo.sqlite"); fi
target/debug/avondronde-server demo --addr 127.0.0.1:0 "${db_args[@]}" \
  --credentials "$work/creds.json" > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -1 | sed 's/listening on //') || true
  [ -n "${url:-}" ] && break
  kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done
[ -n "${url:-}" ] || { echo "server did not start"; cat "$work/server.log"; exit 1; }

code=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["enrolment_codes"][0])' "$work/creds.json")
token=$(curl -sf -X POST "$url/api/v1/enrol" -H 'content-type: application/json' \
  -d "{\"code\":\"$code\",\"label\":\"schemathesis\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# The admin logs in with password and TOTP code (RFC 6238, computed from the secret the
# demo wrote into its credentials file; python's hmac is all it takes).
admin=$(python3 - "$work/creds.json" <<'PY'
import base64, hashlib, hmac, json, struct, sys, time
u = json.load(open(sys.argv[1]))["web_users"]["admin"]
secret = u["totp_secret"]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
offset = mac[-1] & 15
code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000
print(json.dumps({"username": u["username"], "password": u["password"], "totp": "%06d" % code}))
PY
)
cookie=$(curl -sf -D - -o /dev/null -X POST "$url/api/v1/session" -H 'content-type: application/json' -d "$admin" \
  | grep -io 'avondronde_session=[^;]*' | head -1)
[ -n "$cookie" ] || { echo "the admin login (with TOTP) failed" >&2; exit 1; }

# The rate limits protect the real server; schemathesis is deliberately fast.
"$ST" run "$url/api/v1/openapi.json" \
  --checks all \
  --experimental=openapi-3.1 \
  --hypothesis-max-examples 60 \
  --hypothesis-seed 20261123 \
  --exclude-checks ignored_auth \
  -H "Authorization: Bearer $token" \
  -H "Cookie: $cookie" \
  --base-url "$url" || {
    # The server logs methods, paths and request ids, never personal data.
    echo "--- server log, last 40 lines" >&2
    tail -n 40 "$work/server.log" >&2
    exit 1
  }
