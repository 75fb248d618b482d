// Issue 14, the map: the field app's map screen and its pin in a real browser. The app's
// own components and store, served by `avondronde-liveview` (through app-support.mjs) with
// its clock pinned to 22:30, in Debian's Chromium at 390×844, against the demo server.
//
// - A pin dropped on the map and saved reaches the server as `source: pin`, at the point
//   tapped (and then dragged to), without accuracy (read from the server's database with
//   the sqlite3 CLI, or psql when the tests run on PostgreSQL).
// - Offline, with every basemap tile refused, the wijk's outline, the hangplekken, the
//   round's contacts and the position's accuracy circle are still drawn (SVG paths).
// - The map's time to interactive is measured and printed.
// - rev3 finding 7: contacts recorded where the worker stands are drawn above the position
//   (the pixel at the spot is the contact's colour, not the position's blue), several at
//   one spot carry their number, and an area rule set on the server (a burgemeestersbevel)
//   is drawn hatched with its name and window.
//
// Basemap tiles are never fetched from the internet here: the test answers them itself
// (a plain tile) or refuses them. Needs `cargo build -p avondronde-server -p avondronde-app
// --bins --features avondronde-app/liveview` first. Screenshots go to
// artifacts/app-map-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bins, launchDemo, launchLiveview, serverStore, setPin, stop } from './app-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const EVENING = '2026-11-20T22:30:00+01:00';
const GOOD_FIX = { latitude: 51.9122, longitude: 4.4447, accuracy: 40 };
const TILES = /service\.pdok\.nl/;
// A 1×1 light PNG, the colour of the BRT's land: a basemap tile that "loads" without the
// internet (the app shows it inverted, dark).
const TILE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGN49+YJAAWKAr/KGdFlAAAAAElFTkSuQmCC', 'base64');

const work = mkdtempSync(join(tmpdir(), 'avondronde-map-'));
const store = serverStore(join(work, 'server.sqlite'));
let server;
let liveview;
let context;
let page;
const foreign = [];

const button = (name) => page.getByRole('button', { name, exact: true });
const shot = (name) => page.screenshot({ path: join(artifacts, `app-map-${name}.png`) });

/** Rows of the server's database, as JSON. */
const serverRows = (sql) => store.rows(sql);

/** Waits until `sql` returns a row, or fails after 20 s. */
async function serverRow(sql) {
  for (let i = 0; i < 200; i++) {
    const rows = serverRows(sql);
    if (rows.length) return rows[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no row for ${sql}`);
}

/** Opens the map from the round screen; resolves with the time until the outline shows. */
async function openMapFromRound() {
  await page.getByRole('navigation', { name: 'Schermen' }).getByRole('button', { name: 'Ronde', exact: true }).click();
  const t0 = performance.now();
  await button('Kaart van de ronde').click();
  await page.locator('#avondronde-map path.map-outline').first().waitFor();
  await page.locator('#avondronde-map[data-ready]').waitFor();
  return performance.now() - t0;
}

before(async () => {
  const demo = launchDemo(store, join(work, 'creds.json'));
  server = demo.child;
  const serverUrl = await demo.ready;
  const creds = JSON.parse(readFileSync(join(work, 'creds.json'), 'utf8'));
  const lv = launchLiveview(join(work, 'device'), EVENING);
  liveview = lv.child;
  const appUrl = await lv.ready;
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--lang=nl-NL', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 390, height: 844 },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
  });
  await context.grantPermissions(['geolocation'], { origin: new URL(appUrl).origin });
  await context.setGeolocation(GOOD_FIX);
  // Nothing but the app itself and the basemap's tile server may be asked for anything.
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.hostname !== '127.0.0.1' && !TILES.test(r.url())) foreign.push(r.url());
  });
  await context.route(TILES, (route) => route.fulfill({ status: 200, contentType: 'image/png', body: TILE }));
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => { throw e; });
  if (process.env.AVONDRONDE_CHILD_LOG) page.on('console', (m) => console.log('console:', m.text()));

  await page.goto(appUrl);
  await page.getByLabel('Serveradres', { exact: true }).fill(serverUrl);
  await page.getByLabel('Aanmeldcode', { exact: true }).fill(creds.enrolment_codes[0]);
  await button('Aanmelden').click();
  await setPin(page);
  await button('Delfshaven').waitFor({ timeout: 20_000 });
  await button('Delfshaven').click();
  await button('Start ronde').click();
  await page.getByText(/GPS ±40 m/).waitFor({ timeout: 20_000 });
});

after(async () => {
  await context?.close();
  await stop(liveview);
  await stop(server);
});

test('a pin dropped and moved on the map and saved reaches the server as source pin at that point', async () => {
  // The demo's own contacts (some of them pins too) were all received before this.
  const since = Date.now();
  await button('10–11 jaar: één kind erbij').click();
  await button('10–11 jaar: één kind erbij').click();
  await button('rondhangen').click();
  await button('Op de kaart').click();
  const map = page.getByRole('region', { name: 'Kaart: tik om de speld te zetten' });
  await map.waitFor();
  await page.locator('#avondronde-map path.map-outline').first().waitFor();
  await page.getByText('Tik op de kaart waar het contact was.').waitFor();
  await shot('1-pick');

  // Tap a third of the way across and down the map.
  const box = await map.boundingBox();
  const x = Math.round(box.width / 3);
  const y = Math.round(box.height / 3);
  await page.mouse.click(box.x + x, box.y + y);
  await page.getByText(/^Speld gezet\./).waitFor();
  const pin = page.locator('#avondronde-map .map-pin');
  await pin.waitFor();
  // The pin's tip (its icon is anchored 20 px across, 38 px down) is where the finger was
  // (the map did not move under it), and Leaflet says which point of the earth that is.
  assert.deepEqual(await map.boundingBox(), box, 'the map stays put when the pin drops');
  const icon = await pin.boundingBox();
  assert.ok(Math.abs(icon.x + 20 - (box.x + x)) <= 2 && Math.abs(icon.y + 38 - (box.y + y)) <= 2,
    `the pin is where the map was tapped (${icon.x + 20},${icon.y + 38} vs ${box.x + x},${box.y + y})`);
  const expected = await page.evaluate(([cx, cy]) => {
    const m = window.__avondronde_map.map;
    const cp = m.mouseEventToContainerPoint({ clientX: cx, clientY: cy });
    const p = m.containerPointToLatLng(cp);
    const q = m.containerPointToLatLng(cp.add([1, 1]));
    // One screen pixel: the browser puts a click on whole pixels.
    return { lat: p.lat, lon: p.lng, tolLat: Math.abs(q.lat - p.lat), tolLon: Math.abs(q.lng - p.lng) };
  }, [box.x + x, box.y + y]);
  await shot('2-pinned');
  // Every control on the map screen is at least 48 px each way.
  for (const name of ['Naar mijn positie', 'Speld gebruiken', 'Inzoomen', 'Uitzoomen']) {
    const b = await page.getByRole('button', { name, exact: true }).boundingBox();
    assert.ok(b.width >= 48 && b.height >= 48, `${name} is ${b.width}×${b.height} px`);
  }
  // Moving it: the pin dragged 40 px right and 30 px down is where the contact was.
  await page.mouse.move(icon.x + 20, icon.y + 30);
  await page.mouse.down();
  await page.mouse.move(icon.x + 60, icon.y + 60, { steps: 8 });
  await page.mouse.up();
  const moved = await page.evaluate(() => window.__avondronde_map.pin());
  assert.ok(moved.lat < expected.lat - 5 * expected.tolLat && moved.lng > expected.lon + 5 * expected.tolLon,
    `the pin moved south-east (${JSON.stringify(moved)} from ${JSON.stringify(expected)})`);
  // The form has it once Rust has drawn it back.
  await page.waitForFunction(([lat, lon]) => {
    const p = window.__avondronde_map.last.pin;
    return p && Math.abs(p[0] - lat) < 1e-6 && Math.abs(p[1] - lon) < 1e-6;
  }, [moved.lat, moved.lng]);
  expected.lat = moved.lat;
  expected.lon = moved.lng;
  expected.tolLat = 1e-6;
  expected.tolLon = 1e-6;
  await button('Speld gebruiken').click();

  await page.getByLabel('Locatie', { exact: true }).getByText('Speld op de kaart').waitFor();
  assert.equal(await button('Op de kaart').getAttribute('aria-pressed'), 'true');
  await page.getByLabel('Locatie', { exact: true }).scrollIntoViewIfNeeded();
  await shot('3-record-with-pin');
  await button('Opslaan').click();
  await page.getByRole('status', { name: 'Bevestiging' }).getByText(/opgeslagen om 22:30/).waitFor();

  const rows = await serverRow(`SELECT count(*) AS n FROM contact WHERE received_at >= ${since} HAVING count(*) > 0`);
  assert.equal(rows.n, 1, 'one contact came in from the app');
  const row = serverRows(`SELECT source, lat, lon, accuracy_m, fix_age_s, place_id, n_10_11 FROM contact WHERE received_at >= ${since}`)[0];
  assert.equal(row.n_10_11, 2, 'it is the contact recorded here');
  assert.equal(row.source, 'pin');
  assert.ok(Math.abs(row.lat - expected.lat) <= expected.tolLat, `lat ${row.lat} is the tapped ${expected.lat}`);
  assert.ok(Math.abs(row.lon - expected.lon) <= expected.tolLon, `lon ${row.lon} is the tapped ${expected.lon}`);
  assert.equal(row.accuracy_m, null, 'a pin has no accuracy');
  assert.equal(row.fix_age_s, null);
  assert.equal(row.place_id, null);
});

test('offline, with the basemap refused, the outline, hangplekken, contacts and position still draw', async () => {
  await context.unroute(TILES);
  let refused = 0;
  await context.route(TILES, (route) => { refused += 1; return route.abort('internetdisconnected'); });
  await page.evaluate(() => {
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
    window.dispatchEvent(new Event('offline'));
  });
  const ms = await openMapFromRound();
  await page.getByText(/Achtergrondkaart niet bereikbaar/).waitFor();
  assert.ok(refused > 0, 'the map did ask for tiles, and got none');

  const count = (sel) => page.locator(`#avondronde-map ${sel}`).count();
  assert.equal(await count('path.map-outline'), 1, "the wijk's outline");
  assert.equal(await count('path.map-place'), 10, "Delfshaven's ten hangplekken");
  assert.equal(await count('path.map-contact'), 1, "this round's contact with the pin");
  await page.locator('#avondronde-map path.map-accuracy').waitFor();
  assert.equal(await count('path.map-position'), 1, 'the position');
  assert.equal(await count('img.leaflet-tile-loaded'), 0, 'no basemap at all');
  const outline = await page.locator('#avondronde-map path.map-outline').getAttribute('d');
  assert.ok(outline.length > 20, 'the outline has a shape');
  await page.getByLabel('Op de kaart', { exact: true }).getByText('Delfshaven: 10 hangplekken, 1 contact deze ronde op de kaart').waitFor();
  await shot('4-offline');
  const readyMs = await page.locator('#avondronde-map').getAttribute('data-ready');
  console.log(`map time to interactive (1 contact, offline): ${ms.toFixed(0)} ms from the tap to the outline; the map script drew in ${readyMs} ms`);
  assert.deepEqual(foreign, [], 'nothing asked of any other host');

  // 500 contacts in this round: the same data with 500 points spread over the view, drawn
  // by the map script as the app's data would be, timed to the next frame.
  const drawMs = await page.evaluate(async () => {
    const m = window.__avondronde_map;
    const b = m.map.getBounds();
    const contacts = Array.from({ length: 500 }, (_, i) => ({
      at: [b.getSouth() + (b.getNorth() - b.getSouth()) * (((i * 37) % 500) / 500),
        b.getWest() + (b.getEast() - b.getWest()) * (((i * 91) % 500) / 500)],
      label: '', alert: i % 3 === 0,
    }));
    const t0 = performance.now();
    m.draw({ ...m.last, contacts });
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
  });
  assert.equal(await count('path.map-contact'), 500);
  await shot('5-500-contacts');
  console.log(`map with 500 contacts of this round: ${drawMs.toFixed(0)} ms to draw them (to the next frame)`);
});

/** The colour of one screen pixel, [r, g, b]: a 1×1 screenshot, decoded by hand (in a
 *  PNG's only pixel every filter type leaves the bytes as they are). */
async function pixel(x, y) {
  const { inflateSync } = await import('node:zlib');
  const png = await page.screenshot({ clip: { x, y, width: 1, height: 1 } });
  let at = 8;
  const data = [];
  let colourType = 2;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') colourType = body[9];
    if (type === 'IDAT') data.push(body);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(data));
  assert.ok(colourType === 2 || colourType === 6, `an RGB(A) PNG (type ${colourType})`);
  return [raw[1], raw[2], raw[3]];
}

test('contacts at the position are drawn above it, stacked ones numbered, and an area rule hatched with its name', async () => {
  // Back online (the test before went offline) and with the basemap answered again.
  await context.unroute(TILES);
  await context.route(TILES, (route) => route.fulfill({ status: 200, contentType: 'image/png', body: TILE }));
  await page.evaluate(() => {
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => true });
    window.dispatchEvent(new Event('online'));
  });
  // A burgemeestersbevel around the spot where the worker stands, set on the server.
  const norms = join(work, 'normen.toml');
  writeFileSync(norms, [
    '[norms]', '"0-5" = "20:00"', '"6-9" = "21:00"', '"10-13" = "22:00"', 'night_end = "06:00"', '',
    '[[area_rules]]', 'name = "Burgemeestersbevel Testplein"',
    'polygon = [[4.4425, 51.9108], [4.4470, 51.9108], [4.4470, 51.9136], [4.4425, 51.9136], [4.4425, 51.9108]]',
    'start = "20:00"', 'end = "06:00"', 'valid_from = "2026-11-01"', 'valid_until = "2027-01-31"',
    'bands = ["0-5", "6-9", "10-11"]', 'effect = "presence_banned"', '',
  ].join('\n'));
  execFileSync(join(bins, 'avondronde-server'), ['admin', ...store.admin, 'set-norms', '--gemeente', 'GM0599', norms], { stdio: 'ignore' });
  await page.getByRole('navigation', { name: 'Schermen' }).getByRole('button', { name: /^Verzendstatus/ }).click();
  await button('Nu proberen').click();

  // Two contacts recorded where the worker stands (GPS, no pin); the verdict names the
  // rule once the phone has it.
  await page.getByRole('navigation', { name: 'Schermen' }).getByRole('button', { name: 'Contact vastleggen' }).click();
  await page.getByText(/GPS ±40 m/).waitFor({ timeout: 20_000 });
  await button('10–11 jaar: één kind erbij').click();
  await page.getByRole('status', { name: 'Oordeel buitenspeelnorm' }).getByText(/Burgemeestersbevel/).waitFor({ timeout: 20_000 });
  await button('Opslaan').click();
  await page.getByRole('status', { name: 'Bevestiging' }).waitFor();
  await page.getByText(/GPS ±40 m/).waitFor({ timeout: 20_000 });
  await button('6–9 jaar: één kind erbij').click();
  await button('Opslaan').click();
  await page.getByRole('status', { name: 'Bevestiging' }).getByText(/1 kind/).waitFor();

  await openMapFromRound();
  await page.locator('#avondronde-map path.map-position').waitFor();
  await page.getByLabel('Op de kaart', { exact: true })
    .getByText('Delfshaven: 10 hangplekken, 3 contacten deze ronde op de kaart; gebiedsregel: Burgemeestersbevel Testplein · 20:00–06:00').waitFor();
  await shot('6-rule-in-the-wijk');
  // Zoomed in on the spot, as a worker checking "where was that" would.
  await button('Naar mijn positie').click();
  await page.waitForTimeout(400);

  // The stack: two contacts at one spot, one dot with "2" beside it.
  const stack = page.locator('#avondronde-map .map-stack');
  assert.equal(await stack.count(), 1, 'one numbered stack');
  assert.equal((await stack.innerText()).trim(), '2');
  assert.equal(await stack.locator('span').getAttribute('aria-label'), '2 contacten op deze plek');

  // The pixel at the spot is the contact's red (past the norm, inside the order), not the
  // blue of the position drawn over it.
  const spot = await page.evaluate(([lat, lon]) => {
    const m = window.__avondronde_map.map;
    const p = m.latLngToContainerPoint([lat, lon]);
    const r = m.getContainer().getBoundingClientRect();
    return { x: Math.round(r.left + p.x), y: Math.round(r.top + p.y) };
  }, [GOOD_FIX.latitude, GOOD_FIX.longitude]);
  const [r, g, b] = await pixel(spot.x, spot.y);
  assert.ok(r > 200 && g < 130 && b < 130, `the contact's red is on top at the position, got rgb(${r},${g},${b})`);

  // The area rule: hatched, with its name and window.
  const rule = page.locator('#avondronde-map path.map-rule');
  assert.equal(await rule.count(), 1, 'the rule is drawn');
  assert.match(await rule.evaluate((el) => getComputedStyle(el).fill), /url\(.*#avondronde-hatch.*\)/);
  const label = page.locator('#avondronde-map .map-rule-label');
  assert.equal((await label.innerText()).trim(), 'Burgemeestersbevel Testplein · 20:00–06:00');
  const [labelBox, mapBox] = [await label.locator('span').boundingBox(), await page.locator('#avondronde-map').boundingBox()];
  assert.ok(labelBox.y >= mapBox.y && labelBox.y + labelBox.height <= mapBox.y + mapBox.height, 'the name is on the map');
  await shot('7-stack-and-rule');
});
