#!/usr/bin/env bash
# Desktop smoke test for the field app (issue 4): the built `avondronde` binary starts in a
# real window under Xvfb on a fresh data directory, and its first screen (enrolment) is
# captured to target/smoke/desktop-first-screen.png and checked to be drawn, not blank.
set -euo pipefail
cd "$(dirname "$0")/../.."

target="${CARGO_TARGET_DIR:-target}"
# The whole workspace's binaries, so that the build shares the test build's dependencies.
cargo build -q --workspace --bins --locked
out="$target/smoke"
mkdir -p "$out"
work="$(mktemp -d)"
display=":$(( 90 + RANDOM % 9 ))"

Xvfb "$display" -screen 0 800x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do DISPLAY="$display" xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done

start=$(date +%s%N)
DISPLAY="$display" AVONDRONDE_DATA_DIR="$work/data" AVONDRONDE_SECRETS_FILE=1 \
  "$target/debug/avondronde" >"$work/app.log" 2>&1 &
app=$!
# The window appears once the webview is up; then give it a moment to draw the first screen.
# Polled rather than `--sync`: a window that closes while xdotool inspects it (the webview
# makes short-lived ones) is an X error for that one search, not a failed start.
found=
for _ in $(seq 600); do
  if DISPLAY="$display" xdotool search --name '^Avondronde$' >/dev/null 2>&1; then found=1; break; fi
  kill -0 "$app" 2>/dev/null || break
  sleep 0.1
done
[ -n "$found" ] || { echo "desktop smoke: no Avondronde window within 60 s" >&2; cat "$work/app.log" >&2; exit 1; }
mapped=$(( ($(date +%s%N) - start) / 1000000 ))
shot="$out/desktop-first-screen.png"
for _ in $(seq 40); do
  sleep 0.25
  DISPLAY="$display" import -window root "$shot"
  # The enrolment screen has the yellow button and white text on black: many colours.
  colours=$(convert "$shot" -format '%k' info:)
  [ "$colours" -gt 20 ] && break
done
kill -0 "$app" || { echo "the app exited:"; cat "$work/app.log"; exit 1; }
[ "$colours" -gt 20 ] || { echo "the window stayed blank ($colours colours)"; cat "$work/app.log"; exit 1; }
echo "desktop smoke: window after ${mapped} ms, first screen captured in $shot ($colours colours)"
