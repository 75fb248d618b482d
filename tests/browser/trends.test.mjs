// Issue 15 in a real browser: Chromium (Debian's, driven by playwright-core) at 1280×800
// against the demo server on 127.0.0.1, nothing off the machine reachable. A coordinator
// turns on the trends layer of /kaart: the cells take their trend class, the legend speaks
// Dutch ("hardnekkig", "nieuw", …), a click on a cell draws its series, a period too short
// for a trend says so, the before/after view shows the classes before and after, and the
// trends CSV downloads. No inline script: the layer is /static/trends.js.
//
// Needs `cargo build -p avondronde-server` first. Screenshots go to artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serverStore } from './app-support.mjs';
import { tooltipsAtTheEdges } from './map-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const DUTCH = ['nieuw', 'sinds kort', 'toenemend', 'hardnekkig', 'afnemend', 'af en toe', 'wisselend', 'vroeger',
  'nieuw rustig', 'sinds kort rustig', 'steeds rustiger', 'blijvend rustig', 'minder rustig', 'af en toe rustig',
  'wisselend, nu rustig', 'vroeger rustig', 'geen patroon'];

let server;
let base;
let creds;
let context;
let page;

async function startDemo() {
  const bin = join(root, 'target', 'debug', 'avondronde-server');
  assert.ok(existsSync(bin), `${bin} is missing: run cargo build -p avondronde-server first`);
  const work = mkdtempSync(join(tmpdir(), 'avondronde-trends-'));
  const credsFile = join(work, 'creds.json');
  server = spawn(bin, ['demo', '--addr', '127.0.0.1:0', ...serverStore(join(work, 'demo.sqlite')).serve, '--credentials', credsFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo did not start in 120 s:\n' + out)), 120_000);
    const onData = (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', (c) => { out += c; });
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  creds = JSON.parse(readFileSync(credsFile, 'utf8'));
}

before(async () => {
  await startDemo();
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--lang=nl-NL', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
  });
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort('internetdisconnected'));
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => { throw e; });
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
});

/** The number of the trends layer's last finished request (answered or failed). */
async function trendsDone() {
  return page.evaluate(() => document.getElementById('hs-map').dataset.trendsDone);
}

/** Waits until the trends layer finishes a request after the one numbered `previous`. */
async function waitForTrends(previous) {
  await page.waitForFunction((prev) => {
    const done = document.getElementById('hs-map').dataset.trendsDone;
    return done !== undefined && done !== prev && !document.getElementById('hs-trends').hasAttribute('aria-busy');
  }, previous, { timeout: 60_000 });
}

test('the trends layer colours the cells by class with a Dutch legend', async () => {
  const login = creds.web_users.coordinator;
  await page.goto(base + '/login');
  await page.fill('#username', login.username);
  await page.fill('#password', login.password);
  await Promise.all([page.waitForURL(/\/kaart/), page.click('button[type=submit]')]);
  await page.waitForFunction(() => document.getElementById('hs-map').dataset.query !== undefined, null, { timeout: 30_000 });
  // The layer is a static script, not inline.
  assert.equal(await page.locator('script[src="/static/trends.js"]').count(), 1);
  await page.check('#hs-trends-on');
  await waitForTrends(await trendsDone());
  assert.equal(await page.locator('#hs-trends-status.error').count(), 0, await page.locator('#hs-trends-status').innerText());
  const cells = await page.locator('path.hs-trend-cell').count();
  assert.ok(cells > 100, `expected the study area's hexagons, got ${cells}`);
  const classes = JSON.parse(await page.getAttribute('#hs-map', 'data-trend-classes'));
  const hotClasses = Object.keys(classes).filter((c) => c.endsWith('_hotspot'));
  assert.ok(hotClasses.length > 0, `the demo's hangplekken have a trend class: ${JSON.stringify(classes)}`);
  const legend = await page.locator('#hs-trends-legend').innerText();
  assert.match(legend, /Trendklassen/);
  const words = legend.split('\n').map((l) => l.replace(/\s*\(.*\)\s*$/, '').trim());
  assert.ok(words.some((w) => DUTCH.includes(w) && w !== 'geen patroon'), legend);
  assert.ok(words.includes('geen patroon'), legend);
  await page.screenshot({ path: join(artifacts, 'trends-map.png') });
});

test('a trend tooltip, with its long explanation, stays whole inside the map at every edge', async () => {
  // The classed cell furthest right, too: the tooltip where the review saw it cut off.
  await tooltipsAtTheEdges(page, 'path.hs-trend-cell', {
    extra: { 'classed, right': 'path.hs-trend-cell:not([fill="#ffffff"])' },
    onEach: async (edge) => {
      if (edge === 'classed, right') await page.screenshot({ path: join(artifacts, 'trends-tooltip-edge.png') });
    },
  });
});

test('a click on a cell draws its series as a small chart', async () => {
  const classed = page.locator('path.hs-trend-cell:not([fill="#ffffff"])').first();
  await classed.click({ force: true });
  await page.waitForSelector('#hs-trends-cell svg rect.hs-trend-bar');
  const bars = await page.locator('#hs-trends-cell svg rect.hs-trend-bar').count();
  assert.ok(bars >= 8, `one bar per week, got ${bars}`);
  const text = await page.locator('#hs-trends-cell').innerText();
  assert.ok(DUTCH.some((w) => text.includes(w)), text);
  assert.match(text, /Aantal per week: /);
  assert.match(text, /(<10|0|\d*[05])( · |$)/);
  await page.locator('#hs-trends').screenshot({ path: join(artifacts, 'trends-cell-chart.png') });
});

test('a period too short for a trend says so in Dutch', async () => {
  let done = await trendsDone();
  await page.selectOption('#hs-trends-step', 'month');
  await waitForTrends(done);
  assert.match(await page.locator('#hs-trends-status').innerText(), /minstens 8/);
  assert.equal(await page.locator('path.hs-trend-cell').count(), 0, 'no stale layer');
  await page.screenshot({ path: join(artifacts, 'trends-too-short.png') });
  done = await trendsDone();
  await page.selectOption('#hs-trends-step', 'week');
  await waitForTrends(done);
  assert.ok(await page.locator('path.hs-trend-cell').count() > 100);
});

test('before and after: the classes before and after an intervention', async () => {
  await page.fill('input[name=weeks]', '8');
  const done = await trendsDone();
  await page.check('#hs-compare');
  await page.waitForFunction(() => /before_from=/.test(document.getElementById('hs-map').dataset.trendsQuery || ''), null, { timeout: 60_000 });
  await waitForTrends(done);
  assert.match(await page.getAttribute('#hs-map', 'data-trends-query'), /before_from=/);
  assert.equal(await page.locator('#hs-trends-status.error').count(), 0, await page.locator('#hs-trends-status').innerText());
  assert.match(await page.locator('#hs-trends-legend').innerText(), /Trendklassen na[\s\S]*voor \d+, na \d+/);
  await page.screenshot({ path: join(artifacts, 'trends-after.png') });
  await page.click('#hs-viewtoggle button[data-view=before]');
  assert.match(await page.locator('#hs-trends-legend').innerText(), /Trendklassen vóór/);
  await page.screenshot({ path: join(artifacts, 'trends-before.png') });
  await page.click('#hs-viewtoggle button[data-view=after]');
});

test('the trends CSV downloads with the classes in Dutch', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#hs-trends-csv')]);
  assert.match(download.suggestedFilename(), /^trends-WK\d{6}-r10-week.*\.csv$/);
  const text = readFileSync(await download.path()).toString('utf8');
  assert.equal(text.charCodeAt(0), 0xfeff, 'UTF-8 BOM');
  const lines = text.slice(1).split('\r\n').filter((l) => l.length > 0);
  const header = lines[0].split(';');
  assert.deepEqual(header.slice(6, 11), ['klasse', 'klasse_code', 'uitleg', 'trend_z', 'trend_significant']);
  assert.ok(header.includes('klasse_ervoor'), 'the comparison is in the export');
  const klasse = header.indexOf('klasse');
  for (const line of lines.slice(1)) {
    assert.ok(DUTCH.includes(line.split(';')[klasse]), line);
  }
});

test('switching the trends off leaves nothing of them on the page, and a new filter does not bring old ones back', async () => {
  await page.uncheck('#hs-trends-on');
  await page.waitForFunction(() => document.querySelectorAll('path.hs-trend-cell').length === 0, null, { timeout: 30_000 });
  assert.equal((await page.locator('#hs-trends-legend').innerText()).trim(), '', 'no legend of an earlier answer');
  assert.ok(await page.locator('#hs-trends .hs-trends-export').isHidden(), 'no export of an earlier answer');
  assert.equal(await page.locator('#hs-trends-cell svg').count(), 0, 'no chart of an earlier answer');
  // A filter changed while the trends are off: still nothing, and switching them on again
  // asks afresh with the new filter.
  const before = await page.getAttribute('#hs-map', 'data-query');
  await page.selectOption('select[name=measure]', 'contacts');
  await page.waitForFunction((q) => document.getElementById('hs-map').dataset.query !== q, before, { timeout: 30_000 });
  assert.equal(await page.locator('path.hs-trend-cell').count(), 0);
  const done = await trendsDone();
  await page.check('#hs-trends-on');
  await waitForTrends(done);
  assert.equal(
    await page.getAttribute('#hs-map', 'data-trends-query').then((q) => q.split('&step=')[0]),
    await page.getAttribute('#hs-map', 'data-query'),
    'the trends answer the filter now on the map'
  );
});
