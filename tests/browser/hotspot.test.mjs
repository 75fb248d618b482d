// Issue 6 in a real browser: Chromium (Debian's, driven by playwright-core) at 1280×800
// against the demo server on 127.0.0.1. A coordinator logs in and sees the hexagons over
// the wijk, a filter changes the map, the CSV export downloads and parses, and the
// before/after view works — all with the basemap unreachable (every request that is not
// for the server itself is aborted, so nothing leaves the machine).
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
import { tooltipsAtTheEdges as edgeCheck } from './map-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

let server;
let base;
let creds;
let context;
let page;
const blocked = new Set();

/** Starts the demo server on a free loopback port and waits for its address. */
async function startDemo() {
  const bin = join(root, 'target', 'debug', 'avondronde-server');
  assert.ok(existsSync(bin), `${bin} is missing: run cargo build -p avondronde-server first`);
  const work = mkdtempSync(join(tmpdir(), 'avondronde-hotspot-'));
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
  // The basemap (PDOK by default) and anything else off this machine is unreachable.
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => {
    blocked.add(new URL(route.request().url()).hostname);
    return route.abort('internetdisconnected');
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => { throw e; });
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
});

/** Fill colours and the totals text: changes when the map's data changes. */
async function mapSignature() {
  return page.evaluate(() => ({
    query: document.getElementById('hs-map').dataset.query,
    fills: Array.from(document.querySelectorAll('path.hs-cell')).map((p) => p.getAttribute('fill')).join(','),
    totals: document.getElementById('hs-totals').innerText,
  }));
}

async function waitForMap(previousQuery) {
  await page.waitForFunction((prev) => {
    const m = document.getElementById('hs-map');
    return m.dataset.query !== undefined && m.dataset.query !== prev && !m.hasAttribute('aria-busy');
  }, previousQuery, { timeout: 20_000 });
}

/**
 * Checks that every place name shown on the map is inside it and over no other name;
 * answers how many are shown and which are left out for lack of room.
 */
async function shownNames() {
  const frame = await page.locator('#hs-map').boundingBox();
  const names = await page.$$eval('.hs-place', (els) =>
    els.map((e) => ({ text: e.textContent, hidden: e.hidden, ...e.getBoundingClientRect().toJSON() })));
  // What lies over the map: the legend, the notice, the zoom buttons, the attribution.
  const over = await page.$$eval('.hs-mapwrap > :not(#hs-map), .leaflet-control', (els) =>
    els.map((e) => ({ text: e.className, ...e.getBoundingClientRect().toJSON() }))
      .filter((r) => r.width > 0 && r.height > 0));
  const apart = (a, b) => a.right < b.left || a.left > b.right || a.bottom < b.top || a.top > b.bottom;
  const shown = names.filter((n) => !n.hidden);
  for (const [i, n] of shown.entries()) {
    assert.ok(n.left >= frame.x && n.right <= frame.x + frame.width, `"${n.text}" runs off the map`);
    for (const o of shown.slice(i + 1)) assert.ok(apart(n, o), `"${n.text}" and "${o.text}" overlap`);
    for (const o of over) assert.ok(apart(n, o), `"${n.text}" lies under ${o.text}`);
  }
  return { shown: shown.length, hidden: names.filter((n) => n.hidden).map((n) => n.text) };
}

/** The chip "alle" of the group whose chips are named `name`. */
function allChip(name) {
  return page.locator(`.hs-chips:has(input[name=${name}]) input.hs-all`);
}
async function clickAll(name) {
  await page.click(`.hs-chips:has(input[name=${name}]) label.hs-chip:has(input.hs-all)`);
}

/** The map's edge check ([`tooltipsAtTheEdges`] in map-support), with a screenshot at the top. */
function tooltipsAtTheEdges(selector) {
  return edgeCheck(page, selector, {
    onEach: async (edge) => {
      if (edge === 'top') await page.screenshot({ path: join(artifacts, 'hotspot-tooltip-top.png') });
    },
  });
}

test('a coordinator sees the hexagons over the wijk, with the basemap unreachable', async () => {
  const login = creds.web_users.coordinator;
  await page.goto(base + '/login');
  await page.fill('#username', login.username);
  await page.fill('#password', login.password);
  await Promise.all([page.waitForURL(/\/kaart/), page.click('button[type=submit]')]);
  await waitForMap(undefined);
  const cells = await page.locator('path.hs-cell').count();
  assert.ok(cells > 100, `expected the study area's hexagons, got ${cells}`);
  const hot = Number(await page.getAttribute('#hs-map', 'data-hot'));
  assert.ok(hot > 0, 'the demo has hotspots (Mathenesserplein)');
  // The wijk outline and the named places are drawn without any basemap.
  assert.ok(await page.locator('.leaflet-hs-outline-pane path').count() >= 1, 'wijk outline');
  assert.ok(await page.locator('.hs-place').count() >= 5, 'named places');
  // Every place's name can be read whole: inside the map, and over no other name.
  assert.deepEqual((await shownNames()).hidden, [], 'at a desk every name has room');
  await page.waitForSelector('#hs-basemap-notice:not([hidden])', { timeout: 10_000 });
  assert.ok(blocked.size > 0, 'the basemap was asked for and refused');
  assert.match(await page.locator('#hs-totals').innerText(), /Kinderen/);
  assert.ok(await page.locator('#hs-hist svg rect').count() >= 24, 'time-of-evening chart');
  assert.ok(await page.locator('#hs-trend svg rect').count() >= 8, 'weekly trend');
  // A tooltip on the hottest cell: plain words first, then the class, z and q to one
  // decimal (as the README says) as the detail.
  const hottest = page.locator('path.hs-cell[fill="#d62f27"]').first();
  await hottest.hover();
  await page.waitForSelector('.hs-tip', { timeout: 5_000 });
  const tip = await page.locator('.hs-tip').innerText();
  assert.match(tip, /^Duidelijk meer kinderen dan in de omgeving\nKinderen: (<10|\d[\d.]*)\n/, tip);
  assert.match(tip, /Hotspot, 99% betrouwbaar · z = −?-?\d+ · q = \d,\d$/, tip);
  await page.screenshot({ path: join(artifacts, 'hotspot-map.png') });

  // On a phone the names that fit are still read whole; the rest wait for a zoom.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await waitForMap(undefined);
  assert.ok(await page.locator('#hs-legend-body').isHidden(), 'on a phone the legend starts folded');
  assert.equal(await page.locator('#hs-legend .hs-legend-toggle').innerText(), 'Legenda tonen');
  const phone = await shownNames();
  assert.ok(phone.shown >= 3, `only ${phone.shown} place names on a phone`);
  await page.screenshot({ path: join(artifacts, 'hotspot-map-390.png') });
  // A zoom in makes room: a name left out before is shown, and still none overlaps.
  assert.ok(phone.hidden.length > 0, 'the demo wijk has more names than a phone has room for');
  const frame = await page.locator('#hs-map').boundingBox();
  await page.mouse.move(frame.x + frame.width / 2, frame.y + frame.height / 2);
  await page.mouse.wheel(0, -120);
  await page.waitForFunction(
    (before) => [...document.querySelectorAll('.hs-place')].some((e) => before.includes(e.textContent) && !e.hidden),
    phone.hidden, { timeout: 5_000 });
  await shownNames();
  await page.screenshot({ path: join(artifacts, 'hotspot-map-390-zoomed.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.reload();
  await waitForMap(undefined);
});

test('a filter changes the map', async () => {
  const beforeSig = await mapSignature();
  await page.selectOption('select[name=hour_from]', '22');
  await waitForMap(beforeSig.query);
  await page.selectOption('select[name=hour_to]', '2');
  await waitForMap((await mapSignature()).query);
  const afterSig = await mapSignature();
  assert.match(afterSig.query, /hours=22-2/);
  assert.notEqual(afterSig.totals, beforeSig.totals, 'the totals follow the filter');
  assert.notEqual(afterSig.fills, beforeSig.fills, 'the hexagons follow the filter');
  assert.match(page.url(), /hour_from=22/, 'the URL keeps the filter');
  await page.screenshot({ path: join(artifacts, 'hotspot-map-22-02.png') });
  // Weekday chips: only Friday and Saturday evenings. "alle" is filled until a day is
  // picked.
  assert.ok(await allChip('weekdays').isChecked(), 'every evening: "alle" is filled');
  for (const day of ['vr', 'za']) {
    const q = (await mapSignature()).query;
    await page.click(`label.hs-chip:has(input[name=weekdays][value=${day}])`);
    await waitForMap(q);
  }
  assert.match((await mapSignature()).query, /weekdays=vr%2Cza/);
  assert.ok(!(await allChip('weekdays').isChecked()), 'two evenings picked: "alle" is not filled');
});

test('tooltips stay whole inside the map, beside the pointer, at every edge', async () => {
  const texts = await tooltipsAtTheEdges('path.hs-cell');
  for (const t of texts) assert.match(t, /dan in de omgeving|Niet duidelijk anders/);
  await page.mouse.move(0, 0);
});

test('every chip group reads the same way: "alle" filled means no filter, filled chips narrow', async () => {
  // Gedrag: "alle" filled, no behaviour picked, no filter sent.
  assert.ok(await allChip('behaviours').isChecked());
  assert.equal(await page.locator('input[name=behaviours]:checked').count(), 0);
  assert.doesNotMatch((await mapSignature()).query, /behaviours=/);
  let q = (await mapSignature()).query;
  await page.click('label.hs-chip:has(input[name=behaviours][value=nuisance])');
  await waitForMap(q);
  assert.match((await mapSignature()).query, /behaviours=nuisance/);
  assert.ok(!(await allChip('behaviours').isChecked()), 'a behaviour picked: "alle" is not filled');
  q = (await mapSignature()).query;
  await clickAll('behaviours');
  await waitForMap(q);
  assert.doesNotMatch((await mapSignature()).query, /behaviours=/);
  assert.equal(await page.locator('input[name=behaviours]:checked').count(), 0, '"alle" clears the picks');
  // Leeftijd: the same; picking every band is "alle" again.
  assert.ok(await allChip('bands').isChecked());
  q = (await mapSignature()).query;
  await page.click('label.hs-chip:has(input[name=bands][value="6-9"])');
  await waitForMap(q);
  assert.match((await mapSignature()).query, /bands=6-9(&|$)/);
  for (const band of ['0-5', '10-11', '12-13', '14+']) {
    q = (await mapSignature()).query;
    await page.click(`label.hs-chip:has(input[name=bands][value="${band}"])`);
    await waitForMap(q);
  }
  assert.ok(await allChip('bands').isChecked(), 'every band picked is "alle"');
  assert.equal(await page.locator('input[name=bands]:checked').count(), 0);
  assert.doesNotMatch((await mapSignature()).query, /bands=/);
  // A reload keeps the picks and shows them the same way.
  await page.reload();
  await waitForMap(undefined);
  assert.ok(await allChip('bands').isChecked() && await allChip('behaviours').isChecked());
  assert.ok(!(await allChip('weekdays').isChecked()));
  assert.deepEqual(await page.$$eval('input[name=weekdays]:checked', (els) => els.map((e) => e.value)), ['vr', 'za']);
  await page.locator('form#hs-filters').screenshot({ path: join(artifacts, 'hotspot-chips.png') });
});

test('the legend folds away and stays folded through a redraw', async () => {
  const toggle = page.locator('#hs-legend .hs-legend-toggle');
  assert.equal(await toggle.innerText(), 'Legenda verbergen');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const open = await page.locator('#hs-legend').boundingBox();
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.ok(await page.locator('#hs-legend-body').isHidden());
  const folded = await page.locator('#hs-legend').boundingBox();
  assert.ok(folded.height < 40 && folded.height < open.height / 2, `folded legend is ${folded.height}px high`);
  const q = (await mapSignature()).query;
  await page.selectOption('select[name=res]', '9');
  await waitForMap(q);
  assert.ok(await page.locator('#hs-legend-body').isHidden(), 'still folded after a redraw');
  await page.screenshot({ path: join(artifacts, 'hotspot-legend-folded.png') });
  await toggle.click();
  assert.match(await page.locator('#hs-legend').innerText(), /Hotspots \(Gi\*\)/);
  const q2 = (await mapSignature()).query;
  await page.selectOption('select[name=res]', '10');
  await waitForMap(q2);
});

test('the GeoJSON export looks like a button that works, not a greyed-out one', async () => {
  const style = (sel) => page.$eval(sel, (e) => {
    const s = getComputedStyle(e);
    return { bg: s.backgroundColor, color: s.color, shadow: s.boxShadow };
  });
  const csv = await style('#hs-csv');
  const geojson = await style('#hs-geojson');
  assert.equal(geojson.bg, 'rgb(255, 255, 255)');
  assert.equal(geojson.color, csv.bg, 'its text has the colour of the CSV button');
  assert.ok(geojson.shadow.includes(csv.bg), 'and so has its outline');
  await page.locator('.hs-export').screenshot({ path: join(artifacts, 'hotspot-export.png') });
});

test('the CSV export downloads and parses as Dutch Excel CSV', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#hs-csv')]);
  assert.match(download.suggestedFilename(), /^hotspots-WK\d{6}-r10.*\.csv$/);
  const bytes = readFileSync(await download.path());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  const lines = bytes.toString('utf8').slice(1).split('\r\n').filter((l) => l.length > 0);
  const header = lines[0].split(';');
  assert.deepEqual(header.slice(0, 6), ['wijkcode', 'wijknaam', 'h3_cel', 'resolutie', 'rd_x', 'rd_y']);
  assert.ok(lines.length > 100);
  for (const line of lines.slice(1)) {
    const f = line.split(';');
    assert.equal(f.length, header.length);
    const x = Number(f[4].replace(',', '.'));
    const y = Number(f[5].replace(',', '.'));
    // Rotterdam-West: the demo's Delfshaven reaches x ≈ 87 900 at its western edge.
    assert.ok(x > 87000 && x < 96000 && y > 435000 && y < 440000, `RD ${x} ${y}`);
    assert.match(f[header.indexOf('aantal')], /^(0|<10|\d*[05])$/);
  }
});

test('before and after an intervention', async () => {
  const q = (await mapSignature()).query;
  // Back to every evening, then compare four weeks before and after the default date.
  await clickAll('weekdays');
  await page.selectOption('select[name=hour_from]', '');
  await page.check('#hs-compare');
  await waitForMap(q);
  assert.match((await mapSignature()).query, /before_from=/);
  await page.waitForSelector('#hs-viewtoggle:not([hidden])');
  await page.screenshot({ path: join(artifacts, 'hotspot-after.png') });
  // The compare tooltip reads in the same plain words as the single view, before and after.
  // A hot cell that nothing over the map (the view buttons, the legend) covers.
  const hot = await page.$$eval('path.hs-cell[fill="#d62f27"]', (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    const x = r.x + r.width / 2;
    const y = r.y + r.height / 2;
    return { x, y, free: document.elementFromPoint(x, y) === e };
  }).find((c) => c.free));
  assert.ok(hot, 'a hot cell to hover after the intervention');
  await page.mouse.move(hot.x, hot.y);
  await page.waitForSelector('.hs-tip', { timeout: 5_000 });
  const tip = await page.locator('.hs-tip').innerText();
  assert.match(tip, /^Voor: (<10|\d[\d.]*) kinderen, (\S+ )*(meer|minder) kinderen dan in de omgeving|^Voor: (<10|\d[\d.]*) kinderen, niet duidelijk anders/, tip);
  assert.match(tip, /\nNa: (<10|\d[\d.]*) kinderen, duidelijk meer kinderen dan in de omgeving\n/, tip);
  await page.mouse.move(0, 0);
  await page.click('#hs-viewtoggle button[data-view=change]');
  assert.match(await page.locator('#hs-legend').innerText(), /Veel lager/);
  // Before and after, too: the tooltips stay inside the map.
  await tooltipsAtTheEdges('path.hs-cell');
  await page.mouse.move(0, 0);
  assert.match(await page.locator('#hs-totals').innerText(), /voor/);
  await page.screenshot({ path: join(artifacts, 'hotspot-change.png') });
  await page.click('#hs-viewtoggle button[data-view=before]');
  await page.screenshot({ path: join(artifacts, 'hotspot-before.png') });
});
