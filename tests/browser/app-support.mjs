// What the field-app browser tests share: starting a binary and waiting for the address it
// prints, stopping it, and where the binaries are. One place, so a change in how the
// liveview app is started (flags, a token in its URL) is made once for every app*.test.mjs.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const bins = join(process.env.AVONDRONDE_TARGET_DIR ?? join(root, 'target'), 'debug');

/**
 * Spawns a binary and resolves with the first match of `pattern` on its stdout. Its stderr
 * is kept for the error message; AVONDRONDE_CHILD_LOG=1 also passes it through.
 */
export function launch(bin, args, pattern, what) {
  assert.ok(existsSync(bin), `${bin} is missing: build it first`);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 120 s:\n${out}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.on('data', (c) => { out += c; if (process.env.AVONDRONDE_CHILD_LOG) process.stderr.write(c); });
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${out}`)));
  });
  return { child, ready };
}

/** Stops a child started with `launch` and waits until it is gone. */
export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

/** Starts the liveview app on a data directory with its clock pinned to `now`. */
export function launchLiveview(dataDir, now) {
  return launch(join(bins, 'avondronde-liveview'),
    ['--data-dir', dataDir, '--now', now],
    /LIVEVIEW_URL=(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/, 'liveview');
}

/** Starts the demo server; `ready` resolves with its address. */
export function launchDemo(db, credentials) {
  return launch(join(bins, 'avondronde-server'),
    ['demo', '--addr', '127.0.0.1:0', '--db', db, '--credentials', credentials],
    /listening on (http:\/\/127\.0\.0\.1:\d+)/, 'demo server');
}

/** The app PIN the browser tests choose after enrolment. */
export const PIN = '2468';

/**
 * Right after enrolment the app asks for a PIN before any screen with data (issue 10):
 * choose `PIN`. `shot` (optional) takes a screenshot of the PIN screen.
 */
export async function setPin(page, shot) {
  await page.getByText('Kies een pincode').waitFor({ timeout: 20_000 });
  if (shot) await shot();
  await page.getByLabel('Nieuwe pincode', { exact: true }).fill(PIN);
  await page.getByLabel('Pincode nogmaals', { exact: true }).fill(PIN);
  await page.getByRole('button', { name: 'Pincode instellen', exact: true }).click();
}
