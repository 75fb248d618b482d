// Issue 14 in a real browser: a repeated situation in three taps or fewer. The field app's
// own components and store, served by `avondronde-liveview` (started as app.test.mjs
// starts it, through app-support.mjs) with its clock pinned to 22:30, in Debian's Chromium
// at 390×844, against the demo server.
//
// Every tap on the record screen goes through `tap()`, which counts it; the time is taken
// from the moment the record screen is opened until its confirmation says "opgeslagen".
// The figures are printed, and the repeat's taps are asserted (≤ 3).
//
// Needs `cargo build -p avondronde-server -p avondronde-app --bins` first. Screenshots go
// to artifacts/app-repeat-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { launchDemo, launchLiveview, serverStore, setPin, stop } from './app-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const EVENING = '2026-11-20T22:30:00+01:00';
// A good fix at the Mathenesserplein, and a poor one (±120 m) 55 m from the Dakpark.
const GOOD_FIX = { latitude: 51.9122, longitude: 4.4447, accuracy: 12 };
const POOR_FIX = { latitude: 51.9070, longitude: 4.4468, accuracy: 120 };
const WIDTH = 390;
const HEIGHT = 844;

const work = mkdtempSync(join(tmpdir(), 'avondronde-repeat-'));
let server;
let liveview;
let context;
let page;
let appOrigin;
let appHref;
let second;

/** Opens the app again in a fresh browser context whose position is `fix`. */
async function openPage(fix) {
  second = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--lang=nl-NL', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: WIDTH, height: HEIGHT },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
    geolocation: fix,
    permissions: ['geolocation'],
  });
  page = second.pages()[0] ?? (await second.newPage());
  page.on('pageerror', (e) => { throw e; });
  await page.goto(appHref);
}

const button = (name) => page.getByRole('button', { name, exact: true });
const shot = (name) => page.screenshot({ path: join(artifacts, `app-repeat-${name}.png`) });

/** Counts taps and measures from opening the record screen to "opgeslagen". */
class Stopwatch {
  constructor(label) { this.label = label; this.taps = 0; }
  async open() {
    await page.getByRole('navigation', { name: 'Schermen' })
      .getByRole('button', { name: 'Contact vastleggen', exact: true }).click();
    await page.getByRole('status', { name: 'Oordeel buitenspeelnorm' }).waitFor();
    this.start = performance.now();
  }
  async tap(name) {
    this.taps += 1;
    await button(name).click();
  }
  async saved() {
    await page.getByRole('status', { name: 'Bevestiging' }).getByText(/opgeslagen om 22:30/).waitFor();
    this.seconds = (performance.now() - this.start) / 1000;
    console.log(`${this.label}: ${this.taps} taps, ${this.seconds.toFixed(2)} s from opening the record screen to "opgeslagen"`);
  }
}

before(async () => {
  const demo = launchDemo(serverStore(join(work, 'server.sqlite')), join(work, 'creds.json'));
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
    viewport: { width: WIDTH, height: HEIGHT },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
  });
  appOrigin = new URL(appUrl).origin;
  await context.grantPermissions(['geolocation'], { origin: appOrigin });
  await context.setGeolocation(GOOD_FIX);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => { throw e; });

  await page.goto(appUrl);
  appHref = appUrl;
  await page.getByLabel('Serveradres', { exact: true }).fill(serverUrl);
  await page.getByLabel('Aanmeldcode', { exact: true }).fill(creds.enrolment_codes[0]);
  await button('Aanmelden').click();
  await setPin(page);
  await button('Delfshaven').waitFor({ timeout: 20_000 });
  await button('Delfshaven').click();
  await button('Start ronde').click();
  await page.getByText(/GPS ±12 m/).waitFor({ timeout: 20_000 });
});

after(async () => {
  await second?.close();
  await context?.close();
  await stop(liveview);
  await stop(server);
});

/** The top of an element, in px from the top of the viewport. */
async function top(name) {
  const box = await button(name).boundingBox();
  assert.ok(box, `${name} is shown`);
  return box.y;
}

test('a first contact, then the same situation again in three taps or fewer', async () => {
  // No earlier contact yet: nothing to repeat.
  assert.equal(await button('Zelfde als vorige').count(), 0);

  const first = new Stopwatch('first contact');
  await first.open();
  for (let i = 0; i < 3; i++) await first.tap('10–11 jaar: één kind erbij');
  await first.tap('rondhangen');
  await first.tap('aangesproken');
  await shot('1-first');
  await first.tap('Opslaan');
  await first.saved();
  assert.equal(first.taps, 6);
  await shot('2-first-saved');

  // One hand: the count buttons, "Zelfde als vorige" and Opslaan are in the lower half
  // of a 390×844 screen, and Opslaan is fully on it.
  for (const name of ['Zelfde als vorige', '10–11 jaar: één kind erbij', 'Opslaan']) {
    assert.ok(await top(name) >= HEIGHT / 2, `${name} is in the thumb zone (top ${await top(name)} px)`);
  }
  const save = await button('Opslaan').boundingBox();
  assert.ok(save.y + save.height <= HEIGHT, 'Opslaan is fully on screen');

  // The same group again, another evening moment: away and back to the record screen.
  await button('Ronde').click();
  const repeat = new Stopwatch('repeat');
  await repeat.open();
  await repeat.tap('Zelfde als vorige');
  const verdict = page.getByRole('status', { name: 'Oordeel buitenspeelnorm' });
  await verdict.filter({ hasText: '3 kinderen na de buitenspeelnorm (max. 30 min)' }).waitFor();
  for (const chip of ['rondhangen', 'aangesproken']) {
    assert.equal(await button(chip).getAttribute('aria-pressed'), 'true', `${chip} is repeated`);
  }
  await shot('3-repeat');
  await repeat.tap('Opslaan');
  await repeat.saved();
  await shot('4-repeat-saved');
  assert.ok(repeat.taps <= 3, `the repeat took ${repeat.taps} taps`);
  assert.ok(repeat.seconds <= 10, `the repeat took ${repeat.seconds} s`);
});

test('suggestions offer this round\'s other situations; a poor fix pre-selects the nearest hangplek', async () => {
  // A different group, so the 10–11 trio becomes a suggestion rather than "the last".
  await button('12–13 jaar: één kind erbij').click();
  await button('vuurwerk').click();
  await button('Opslaan').click();
  await page.getByRole('status', { name: 'Bevestiging' }).getByText(/1 kind$/).waitFor();
  const suggestion = button('Suggestie: 3 kinderen 10–11 jaar · rondhangen · aangesproken');
  await suggestion.waitFor();
  assert.match(await button('Zelfde als vorige').innerText(), /1 kind 12–13 jaar · vuurwerk/);
  await shot('5-suggestions');
  await suggestion.click();
  await page.getByRole('status', { name: 'Oordeel buitenspeelnorm' })
    .filter({ hasText: '3 kinderen na de buitenspeelnorm (max. 30 min)' }).waitFor();
  await button('Opslaan').click();
  await page.getByRole('status', { name: 'Bevestiging' }).getByText(/3 kinderen$/).waitFor();

  // Under a gallery: the app is opened again (a new tab with its own position cache;
  // the app asks with maximumAge 30 s) where the fix is poor, and the Dakpark, 55 m
  // away, is chosen by itself.
  await openPage(POOR_FIX);
  await page.getByText('Bekende plek: Dakpark').waitFor({ timeout: 20_000 });
  await page.getByText(/Zwakke GPS-fix \(±120 m\): dichtstbijzijnde bekende plek Dakpark gekozen/).waitFor();
  await shot('6-poor-fix');
  await button('Zelfde als vorige').click();
  await page.getByRole('status', { name: 'Oordeel buitenspeelnorm' })
    .filter({ hasText: '3 kinderen na de buitenspeelnorm (max. 30 min)' }).waitFor();
  await button('Opslaan').click();
  await page.getByRole('status', { name: 'Bevestiging' }).getByText(/3 kinderen$/).waitFor();
  // Five contacts in this round, in the plural the round card uses.
  await button('Ronde').click();
  await page.getByText(/5 contacten/).first().waitFor();
  await shot('7-round');
});
