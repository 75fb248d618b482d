// What the field-app browser tests share: starting a binary and waiting for the address it
// prints, stopping it, and where the binaries are. One place, so a change in how the
// liveview app is started (flags, a token in its URL) is made once for every app*.test.mjs.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
    /LIVEVIEW_URL=(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/, 'liveview');
}

/**
 * The server's database for one test file: the SQLite file `file`, or, when
 * AVONDRONDE_TEST_POSTGRES names a PostgreSQL cluster (a superuser's URL without a database,
 * as scripts/test.d/25-postgres.sh sets it), a fresh database there, set up with
 * `admin postgres-init`. `serve` holds the arguments `serve` and `demo` take (the
 * application role), `admin` those of the admin commands (the cluster's admin), and
 * `rows(sql)` answers a query as an array of row objects.
 */
export function serverStore(file) {
  const cluster = process.env.AVONDRONDE_TEST_POSTGRES;
  if (!cluster) {
    return {
      serve: ['--db', file],
      admin: ['--db', file],
      rows: (sql) => {
        const out = execFileSync('sqlite3', ['-json', '-readonly', file, sql], { encoding: 'utf8' });
        return out.trim() ? JSON.parse(out) : [];
      },
    };
  }
  const name = `browser_${randomBytes(8).toString('hex')}`;
  const superuser = `${cluster.replace(/\/$/, '')}/${name}`;
  execFileSync('psql', ['-q', '-d', `${cluster.replace(/\/$/, '')}/postgres`, '-c', `CREATE DATABASE ${name}`]);
  execFileSync(join(bins, 'avondronde-server'), ['admin', '--database-url', superuser, 'postgres-init'],
    { stdio: 'ignore' });
  const hostAndPort = cluster.replace(/^postgres:\/\/[^@/]*@/, '').replace(/\/$/, '');
  return {
    serve: ['--database-url', `postgres://avondronde_app@${hostAndPort}/${name}`],
    admin: ['--database-url', superuser],
    rows: (sql) => JSON.parse(execFileSync('psql', ['-At', '-d', superuser, '-c',
      `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`], { encoding: 'utf8' })),
  };
}

/** Starts the demo server on `store` (from `serverStore`); `ready` resolves with its address. */
export function launchDemo(store, credentials) {
  return launch(join(bins, 'avondronde-server'),
    ['demo', '--addr', '127.0.0.1:0', ...store.serve, '--credentials', credentials],
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
