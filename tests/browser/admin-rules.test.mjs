// Issue 12 (part B) in a real browser: the gemeente's admin changes the buitenspeelnormen,
// draws an area rule (a burgemeestersbevel) on the map and uploads a CBS wijk file, in
// Debian's Chromium at 1280×800 (and each page again at 390×844), against the demo server
// with every off-machine request refused (no basemap). The field app (its own components
// and store, served by `avondronde-liveview` with the clock pinned to 22:30, at 390×844)
// is enrolled to the same server and shows each change after a sync.
//
// Needs `cargo build -p avondronde-server -p avondronde-app --bins --features
// avondronde-app/liveview` first. Screenshots go to artifacts/admin-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { launchDemo, launchLiveview, serverStore, setPin, stop } from './app-support.mjs';
import { totp } from './totp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const EVENING = '2026-11-20T22:30:00+01:00';
const FIX = { latitude: 51.9122, longitude: 4.4447, accuracy: 12 };
const ARGS = ['--lang=nl-NL', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const work = mkdtempSync(join(tmpdir(), 'avondronde-admin-rules-'));
let server;
let liveview;
let adminCtx;
let fieldCtx;
let admin;
let field;
let base;
let creds;

const shot = async (name) => {
  await admin.screenshot({ path: join(artifacts, `admin-${name}-1280.png`), fullPage: true });
  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.screenshot({ path: join(artifacts, `admin-${name}-390.png`), fullPage: true });
  // Nothing may stick out sideways on a phone.
  const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${name} scrolls sideways at 390 px (${overflow} px)`);
  await admin.setViewportSize({ width: 1280, height: 800 });
};
const fieldShot = (name) => field.screenshot({ path: join(artifacts, `admin-field-${name}.png`) });
const fieldButton = (name) => field.getByRole('button', { name, exact: true });
const verdict = () => field.getByRole('status', { name: 'Oordeel buitenspeelnorm' });

before(async () => {
  const demo = launchDemo(serverStore(join(work, 'server.sqlite')), join(work, 'creds.json'));
  server = demo.child;
  base = await demo.ready;
  creds = JSON.parse(readFileSync(join(work, 'creds.json'), 'utf8'));

  adminCtx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium', headless: true, args: ARGS,
    viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam',
  });
  await adminCtx.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort('internetdisconnected'));
  admin = adminCtx.pages()[0] ?? (await adminCtx.newPage());
  admin.on('pageerror', (e) => { throw e; });

  const lv = launchLiveview(join(work, 'device'), EVENING);
  liveview = lv.child;
  const appUrl = await lv.ready;
  fieldCtx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium', headless: true, args: ARGS,
    viewport: { width: 390, height: 844 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam',
  });
  await fieldCtx.grantPermissions(['geolocation'], { origin: new URL(appUrl).origin });
  await fieldCtx.setGeolocation(FIX);
  field = fieldCtx.pages()[0] ?? (await fieldCtx.newPage());
  field.on('pageerror', (e) => { throw e; });
  await field.goto(appUrl);
  await field.getByLabel('Serveradres', { exact: true }).fill(base);
  await field.getByLabel('Aanmeldcode', { exact: true }).fill(creds.enrolment_codes[0]);
  await fieldButton('Aanmelden').click();
  await setPin(field);
  await fieldButton('Delfshaven').waitFor({ timeout: 20_000 });
  await fieldButton('Delfshaven').click();
  await fieldButton('Start ronde').click();
  await field.getByText(/GPS ±12 m/).waitFor({ timeout: 20_000 });

  const login = creds.web_users.admin;
  await admin.goto(base + '/login');
  await admin.fill('#username', login.username);
  await admin.fill('#password', login.password);
  await Promise.all([admin.waitForURL(/\/login\/code$/), admin.click('button[type=submit]')]);
  await admin.fill('#code', totp(login.totp_secret));
  await Promise.all([admin.waitForURL(/\/beheer$/), admin.click('button[type=submit]')]);
});

after(async () => {
  await adminCtx?.close();
  await fieldCtx?.close();
  await stop(liveview);
  await stop(server);
});

/** Syncs the field app, then shows the verdict for one child of 10–11 on the record screen. */
async function syncThenJudgeOneChild() {
  const tabs = field.getByRole('navigation', { name: 'Schermen' });
  await tabs.getByRole('button', { name: /^Verzendstatus/ }).click();
  await fieldButton('Nu proberen').click();
  await field.getByText(/Laatst gelukt/).waitFor({ timeout: 20_000 });
  // A second sync after the first succeeded, so the pull of this one is certain to be done.
  const stamp = await field.getByText(/Laatst gelukt/).innerText();
  await fieldButton('Nu proberen').click();
  await field.waitForTimeout(1500);
  assert.ok(stamp);
  await tabs.getByRole('button', { name: 'Contact vastleggen', exact: true }).click();
  await verdict().waitFor();
  if (!/kind/.test(await verdict().innerText()) || /Geen kinderen/.test(await verdict().innerText())) {
    await fieldButton('10–11 jaar: één kind erbij').click();
  }
}

test('a norm changed in the web changes the verdict in the field app after a sync', async () => {
  await syncThenJudgeOneChild();
  await verdict().filter({ hasText: '1 kind na de buitenspeelnorm (max. 30 min)' }).waitFor({ timeout: 10_000 });
  await fieldShot('1-before-norm');

  await admin.goto(base + '/beheer/normen');
  await shot('normen');
  // 25:00 is refused in Dutch and nothing is saved.
  await admin.fill('#age10_13', '25:00');
  // The browser's own pattern check would stop the form first; the server must refuse too.
  await admin.evaluate(() => document.getElementById('normen').setAttribute('novalidate', ''));
  await Promise.all([admin.waitForLoadState('load'), admin.click('button[value=opslaan]')]);
  assert.match(await admin.locator('.notice.error').innerText(), /„25:00” is geen geldige tijd/);
  await shot('normen-25');
  await admin.goto(base + '/beheer/normen');
  assert.equal(await admin.inputValue('#age10_13'), '22:00', 'nothing was saved');

  // 10–13 until 23:00; the preview says what the app will say at 22:30.
  await admin.fill('#age10_13', '23:00');
  await admin.fill('#om', '22:30');
  await admin.click('button[value=voorbeeld]');
  await admin.locator('#voorbeeld').getByText('Binnen de buitenspeelnorm').first().waitFor();
  await admin.click('button[value=opslaan]');
  await admin.locator('.notice.ok').getByText(/De normen zijn opgeslagen/).waitFor();
  await shot('normen-opgeslagen');

  await syncThenJudgeOneChild();
  await verdict().filter({ hasText: 'Binnen de buitenspeelnorm' }).waitFor({ timeout: 10_000 });
  await fieldShot('2-after-norm');
});

test('the area-rule map opens on the wijken, names its hangplekken and says to draw first', async () => {
  await admin.goto(base + '/beheer/gebiedsregels');
  await admin.waitForFunction(() => window.avondrondeBeheerKaart !== undefined);
  await admin.mouse.move(0, 0); // no hover tooltip over the map
  await admin.waitForTimeout(300);
  const frame = await admin.locator('#br-map').boundingBox();
  // The wijken fill the map (the review saw them small in the middle of a zoomed-out map).
  const wijken = await admin.$$eval('#br-map .leaflet-overlay-pane path', (els) => els.map((e) => e.getBoundingClientRect().toJSON()));
  const union = wijken.reduce((u, r) => ({
    left: Math.min(u.left, r.left), top: Math.min(u.top, r.top), right: Math.max(u.right, r.right), bottom: Math.max(u.bottom, r.bottom),
  }), { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity });
  const fill = Math.max((union.right - union.left) / frame.width, (union.bottom - union.top) / frame.height);
  assert.ok(fill > 0.85, `the wijken fill ${Math.round(fill * 100)}% of the map`);
  // No wijk name lies over a hangplek: at the middle of each dot is the dot (or another).
  const covered = await admin.$$eval('.leaflet-br-places-pane path', (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return !top || top.closest('.leaflet-br-places-pane') ? null : `${top.tagName}.${top.className} at ${Math.round(r.x)},${Math.round(r.y)}`;
  }).filter((c) => c));
  assert.deepEqual(covered, [], 'hangplekken under something');
  const places = await admin.locator('.leaflet-br-places-pane path').count();
  assert.ok(places >= 5, `${places} hangplekken`);
  // Each hangplek has its name: on hover, and from street level beside it.
  await admin.locator('.leaflet-br-places-pane path').first().hover({ force: true });
  await admin.locator('.br-place-tip').waitFor({ timeout: 5_000 });
  assert.ok((await admin.locator('.br-place-tip').innerText()).trim().length > 2, 'the hover names the hangplek');
  assert.ok(await admin.locator('.br-place').count() >= 5, 'a name per hangplek');
  assert.ok(await admin.locator('.br-place').first().isHidden(), 'no crowd of names zoomed out');
  await shot('regel-kaart');
  // A button per wijk zooms in on it; the hangplek list goes to street level around one,
  // with the names beside the dots.
  const home = await admin.evaluate(() => window.avondrondeBeheerKaart.getZoom());
  await admin.locator('#br-zoom').getByRole('button', { name: 'Delfshaven', exact: true }).click();
  await admin.waitForFunction((z) => window.avondrondeBeheerKaart.getZoom() > z, home, { timeout: 5_000 });
  await admin.waitForTimeout(400); // the zoom animation ends
  await admin.selectOption('#br-goto', { label: 'Mathenesserplein' });
  await admin.waitForFunction(() => window.avondrondeBeheerKaart.getZoom() >= 16, null, { timeout: 5_000 });
  await admin.locator('.br-place', { hasText: 'Mathenesserplein' }).waitFor({ state: 'visible' });
  const names = await admin.$$eval('.leaflet-br-placenames-pane .br-place', (els) => els.map((e) => e.textContent));
  assert.ok(names.includes('Mathenesserplein'), names.join(', '));
  await admin.locator('#br-map').scrollIntoViewIfNeeded();
  await admin.screenshot({ path: join(artifacts, 'admin-regel-kaart-delfshaven-1280.png') });

  // "Welke hangplekken?" before an area is drawn says to draw first, beside the button.
  const url = admin.url();
  await admin.click('button[value=voorbeeld]');
  const need = admin.locator('#br-need-area');
  await need.waitFor({ state: 'visible' });
  assert.match(await need.innerText(), /^Teken eerst een gebied/);
  assert.equal(admin.url(), url, 'nothing was sent');
  // Two corners: one more to go.
  const box = await admin.locator('#br-map').boundingBox();
  await admin.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await admin.mouse.click(box.x + box.width / 2 + 60, box.y + box.height / 2);
  await admin.click('button[value=voorbeeld]');
  assert.match(await need.innerText(), /nog 1 hoekpunt/);
  await admin.screenshot({ path: join(artifacts, 'admin-regel-teken-eerst-1280.png') });
  await admin.mouse.click(box.x + box.width / 2 + 30, box.y + box.height / 2 + 60);
  assert.ok(await need.isHidden(), 'the message goes once the area has three corners');
  // Without the script's check the server says the same.
  await Promise.all([admin.waitForLoadState('load'), admin.evaluate(() => {
    document.getElementById('gebied').value = '';
    HTMLFormElement.prototype.submit.call(document.getElementById('regel'));
  })]);
  await admin.locator('.notice.error').getByText(/Teken eerst een gebied/).waitFor();
});

test('an area rule drawn on the map applies in the field app after a sync', async () => {
  await admin.goto(base + '/beheer/gebiedsregels');
  await admin.waitForFunction(() => window.avondrondeBeheerKaart !== undefined);
  // A year is refused under art. 172b; the page warns while typing.
  await admin.fill('#naam', 'Burgemeestersbevel Mathenesserplein');
  await admin.fill('#van', '15-11-2026');
  await admin.fill('#tot', '15-11-2027');
  await admin.locator('#drie-maanden').getByText(/Langer dan drie maanden/).waitFor();
  // Draw a square of about 500 m around the field worker's position by clicking the map.
  const d = 0.0025;
  const corners = [[FIX.latitude - d, FIX.longitude - d], [FIX.latitude - d, FIX.longitude + d],
    [FIX.latitude + d, FIX.longitude + d], [FIX.latitude + d, FIX.longitude - d]];
  await admin.evaluate(([lat, lon]) => window.avondrondeBeheerKaart.setView([lat, lon], 15, { animate: false }),
    [FIX.latitude, FIX.longitude]);
  const box = await admin.locator('#br-map').boundingBox();
  for (const c of corners) {
    const p = await admin.evaluate((ll) => window.avondrondeBeheerKaart.latLngToContainerPoint(ll), c);
    await admin.mouse.click(box.x + p.x, box.y + p.y);
  }
  await admin.locator('#br-count').getByText('4 punten').waitFor();
  await admin.click('button[value=opslaan]');
  await admin.locator('.notice.error').getByText(/ten hoogste drie maanden/).waitFor();
  assert.equal(await admin.locator('#regels').count(), 0, 'nothing was stored');
  await shot('regel-jaar');

  // Within three months: the preview lists the hangplekken inside, then it is saved.
  await admin.fill('#tot', '31-12-2026');
  await admin.locator('#drie-maanden').waitFor({ state: 'hidden' });
  await admin.click('button[value=voorbeeld]');
  await admin.locator('#gedekt').getByText('Mathenesserplein', { exact: false }).first().waitFor();
  await shot('regel-voorbeeld');
  await admin.click('button[value=opslaan]');
  await admin.locator('.notice.ok').getByText(/is opgeslagen/).waitFor();
  await admin.locator('#regels').getByText('Burgemeestersbevel Mathenesserplein').waitFor();
  await shot('regel-opgeslagen');

  await syncThenJudgeOneChild();
  await verdict().filter({ hasText: 'Burgemeestersbevel Mathenesserplein (aanwezigheid verboden zonder ouder)' })
    .waitFor({ timeout: 10_000 });
  await fieldShot('3-area-rule');
});

// Review finding 18: a saved rule could only be ended. "Wijzigen" opens it in the same form
// and map; the admin drags two corners and moves the end date. The rule was already in
// force, so the server keeps the old version for the evenings before the change and adds
// the correction as a new version: the list and the map show the new one, and the field
// app (its clock on an evening before the change) still judges by the old one.
test('a saved area rule is corrected with Wijzigen: a dragged polygon and a new end date show in the list and on the map', async () => {
  await admin.goto(base + '/beheer/gebiedsregels');
  const row = admin.locator('#regels tbody tr', { hasText: 'Burgemeestersbevel Mathenesserplein' });
  await Promise.all([
    admin.waitForURL(/\/beheer\/gebiedsregels\/wijzigen\?regel=/),
    row.getByRole('link', { name: 'Regel Burgemeestersbevel Mathenesserplein wijzigen' }).click(),
  ]);
  await admin.waitForFunction(() => window.avondrondeBeheerKaart !== undefined);
  // The saved rule, filled in: its fields and its four corners on the map.
  await admin.getByRole('heading', { name: 'Regel wijzigen' }).waitFor();
  assert.equal(await admin.inputValue('#naam'), 'Burgemeestersbevel Mathenesserplein');
  assert.equal(await admin.inputValue('#van'), '15-11-2026');
  assert.equal(await admin.inputValue('#tot'), '31-12-2026');
  assert.equal(await admin.inputValue('#begin'), '20:00');
  await admin.locator('#br-count').getByText('4 punten').waitFor();
  assert.equal(await admin.locator('#br-map .br-vertex').count(), 4);
  assert.match(await admin.locator('#br-versie').innerText(), /geldt al sinds 15-11-2026/);
  assert.equal(await admin.locator('#regels tr.editing').count(), 1, 'the rule being changed is marked in the list');
  await admin.mouse.move(0, 0);
  await admin.waitForTimeout(500); // the map's zoom onto the area ends
  await shot('regel-wijzigen');

  // Drag the two west corners east of the field worker: the area no longer covers that spot.
  const d = 0.0025;
  const east = FIX.longitude + 0.001;
  const box = await admin.locator('#br-map').boundingBox();
  for (const [i, lat] of [[0, FIX.latitude - d], [3, FIX.latitude + d]]) {
    const from = await admin.locator('#br-map .br-vertex').nth(i).boundingBox();
    const to = await admin.evaluate((ll) => window.avondrondeBeheerKaart.latLngToContainerPoint(ll), [lat, east]);
    await admin.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await admin.mouse.down();
    await admin.mouse.move(box.x + to.x, box.y + to.y, { steps: 12 });
    await admin.mouse.up();
  }
  const drawn = JSON.parse(await admin.inputValue('#gebied'));
  assert.equal(drawn.length, 4, 'dragging moves corners and adds none');
  assert.ok(drawn.every(([lon]) => lon > FIX.longitude), `all corners east of the spot: ${JSON.stringify(drawn)}`);
  // A year is refused in Dutch; the page stays on this rule with what was typed and drawn.
  await admin.fill('#tot', '15-11-2027');
  await admin.click('button[value=opslaan]');
  await admin.locator('.notice.error').getByText(/ten hoogste drie maanden/).waitFor();
  await admin.getByRole('heading', { name: 'Regel wijzigen' }).waitFor();
  assert.equal(await admin.inputValue('#tot'), '15-11-2027');
  assert.deepEqual(JSON.parse(await admin.inputValue('#gebied')), drawn, 'the dragged area is kept');
  await admin.waitForFunction(() => window.avondrondeBeheerKaart !== undefined);
  await admin.mouse.move(0, 0);
  await admin.waitForTimeout(500); // the map's zoom onto the area ends
  await shot('regel-wijzigen-fout');
  await admin.fill('#tot', '15-01-2027');
  await admin.click('button[value=opslaan]');
  await admin.locator('.notice.ok').getByText(/is gewijzigd\. De nieuwe versie geldt vanaf/).waitFor();
  await admin.getByRole('heading', { name: 'Nieuwe regel' }).waitFor();

  // The list: the new version until 15-01-2027 in force, the old one as the previous version.
  const rows = admin.locator('#regels tbody tr', { hasText: 'Burgemeestersbevel Mathenesserplein' });
  assert.equal(await rows.count(), 2, 'the old version is kept beside the new one');
  await rows.filter({ hasText: 't/m 15-01-2027' }).filter({ hasText: 'geldt' }).waitFor();
  const previous = rows.filter({ hasText: 'vorige versie' }).filter({ hasText: '15-11-2026 t/m' });
  await previous.waitFor();
  // What was in force stays as it was: no button changes or removes the previous version.
  assert.equal(await previous.getByRole('button').count(), 0);
  assert.equal(await previous.getByRole('link').count(), 0);
  // The map: one rule shape (the new version), east of the field worker's spot.
  await admin.waitForFunction(() => window.avondrondeBeheerKaart !== undefined);
  const shapes = await admin.evaluate(() => {
    const out = [];
    window.avondrondeBeheerKaart.eachLayer((l) => {
      if (l instanceof L.Polygon && l.options.dashArray === '6 4') {
        const b = l.getBounds();
        out.push({ west: b.getWest(), east: b.getEast() });
      }
    });
    return out;
  });
  // The demo has no other rule: the one shape is this rule's new version.
  const mine = shapes;
  assert.equal(mine.length, 1, JSON.stringify(shapes));
  assert.ok(mine[0].west > FIX.longitude, `the drawn rule moved east: ${JSON.stringify(mine[0])}`);
  await admin.evaluate(([lat, lon]) => window.avondrondeBeheerKaart.setView([lat, lon], 15, { animate: false }),
    [FIX.latitude, FIX.longitude]);
  await admin.mouse.move(0, 0);
  await shot('regel-gewijzigd');

  // The field app's evening (20-11-2026) came before the change: after a sync it still
  // judges the spot by the rule as it was then.
  await syncThenJudgeOneChild();
  await verdict().filter({ hasText: 'Burgemeestersbevel Mathenesserplein (aanwezigheid verboden zonder ouder)' })
    .waitFor({ timeout: 10_000 });
  await fieldShot('4-area-rule-after-change');
});

test('a CBS wijk file is previewed on the map, confirmed and listed', async () => {
  const file = join(work, 'wijken.geojson');
  writeFileSync(file, JSON.stringify({
    type: 'FeatureCollection',
    features: [{
      type: 'Feature',
      properties: { WK_CODE: 'WK059977', WK_NAAM: 'Testwijk Noord', GM_CODE: 'GM0599', GM_NAAM: 'Rotterdam' },
      geometry: { type: 'Polygon', coordinates: [[[4.47, 51.93], [4.49, 51.93], [4.49, 51.94], [4.47, 51.94], [4.47, 51.93]]] },
    }],
  }));
  await admin.goto(base + '/beheer/wijken');
  // Not polygons: a Dutch error, nothing changed.
  await admin.fill('#geojson', '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"WK_CODE":"WK059978"},"geometry":{"type":"Point","coordinates":[4.4,51.9]}}]}');
  await admin.click('#wijken-form button[type=submit]');
  await admin.locator('.notice.error').getByText(/geen vlak/).waitFor();
  await shot('wijken-fout');

  // The file picker speaks Dutch and names the chosen file (not the browser's "Choose File").
  assert.equal((await admin.locator('label[for=bestand]').innerText()).trim(), 'Bestand kiezen…');
  assert.equal(await admin.locator('#bestand-naam').innerText(), 'Geen bestand gekozen');
  await admin.setInputFiles('#bestand', file);
  await admin.waitForFunction(() => document.getElementById('geojson').value.includes('WK059977'));
  assert.match(await admin.locator('#bestand-naam').innerText(), /\.geojson$|\.json$/);
  await shot('wijken-bestand');
  await admin.click('#wijken-form button[type=submit]');
  await admin.locator('#wijken-voorbeeld').getByText('Testwijk Noord').waitFor();
  // Leaflet draws after its deferred script has run: wait for the outline, not just the list.
  await admin.locator('#br-map path.leaflet-interactive').first().waitFor({ timeout: 10_000 });
  assert.ok(await admin.locator('#br-map path.leaflet-interactive').count() >= 1, 'the wijk is drawn');
  await shot('wijken-voorbeeld');
  await admin.click('text=Wijken opslaan');
  await admin.locator('.notice.ok').getByText(/1 toegevoegd/).waitFor();
  await admin.locator('#wijken-huidig').getByText('Testwijk Noord').waitFor();
  await shot('wijken-opgeslagen');
});
