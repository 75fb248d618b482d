// Issue 10 on the phone, in a real browser (liveview, Chromium at 390×844, the demo server):
// - enrolment by QR code with the camera: Chromium's fake camera plays a y4m video of the
//   admin's enrolment code (server, one-time code, meldpunt fingerprint), the app grabs
//   frames to a canvas, decodes them in Rust and enrols pinned to that fingerprint;
// - the photo fallback (a file input): a foreign QR code is refused in Dutch, then a photo
//   of the enrolment code enrols;
// - the PIN chosen after enrolment, and asked again after the page was hidden, with the
//   gemeente's lock minutes set by `avondronde-server admin set-phone-policy` and pulled
//   with the configuration; a wrong PIN counts down.
// The QR images are written by `avondronde-liveview qr-video|qr-image`. Screenshots go to
// artifacts/app-trust-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PIN, bins, launchDemo, launchLiveview, serverStore, setPin, stop } from './app-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const EVENING = '2026-11-20T22:30:00+01:00';
const work = mkdtempSync(join(tmpdir(), 'avondronde-trust-'));
const store = serverStore(join(work, 'server.sqlite'));
let server;
let serverUrl;
let creds;
const apps = [];
let camera;
let context;

/** Writes a QR test file with the liveview binary. */
function qrFile(kind, text, name) {
  const out = join(work, name);
  execFileSync(join(bins, 'avondronde-liveview'), [kind, text, out]);
  return out;
}

/**
 * The text of an enrolment QR code (shared/src/enrolment.rs, `EnrolInvite::encode`), with
 * the code without its dashes, as the admin page puts it in.
 */
const invite = (code, fingerprint) =>
  `avondronde:1;${serverUrl};${code.replaceAll('-', '')};${fingerprint}`;

async function browser(extraArgs) {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--lang=nl-NL', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
    viewport: { width: 390, height: 844 },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
  });
}

async function openApp(ctx, url) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(url);
  await page.getByText('Toestel aanmelden').waitFor();
  return page;
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, `app-trust-${name}.png`) });
const button = (page, name) => page.getByRole('button', { name, exact: true });

let fingerprint;
let videoFile;

before(async () => {
  const demo = launchDemo(store, join(work, 'creds.json'));
  server = demo.child;
  serverUrl = await demo.ready;
  creds = JSON.parse(readFileSync(join(work, 'creds.json'), 'utf8'));
  assert.ok(creds.enrolment_codes.length >= 3, 'the demo hands out a code per field role');
  // The meldpunt's root fingerprint, as the admin page puts it in the QR code: learnt here
  // from an enrolment with a spare code.
  const probe = await fetch(`${serverUrl}/api/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: creds.enrolment_codes[2], label: 'probe' }),
  });
  assert.equal(probe.status, 200);
  fingerprint = (await probe.json()).meldpunt_fingerprint;
  assert.ok(fingerprint, 'the demo meldpunt has a signed key');
  videoFile = qrFile('qr-video', invite(creds.enrolment_codes[0], fingerprint), 'enrol.y4m');
  for (const dir of ['camera', 'photo']) {
    const lv = launchLiveview(join(work, dir), EVENING);
    apps.push({ child: lv.child, url: await lv.ready });
  }
  camera = await browser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${videoFile}`]);
  await camera.grantPermissions(['camera'], { origin: new URL(apps[0].url).origin });
  context = await browser([]);
});

after(async () => {
  await camera?.close();
  await context?.close();
  for (const a of apps) await stop(a.child);
  await stop(server);
});

test('the camera reads the enrolment QR code and the app enrols pinned to its fingerprint', async () => {
  const page = await openApp(camera, apps[0].url);
  await shot(page, '1-enrol');
  await button(page, 'Scan QR-code').click();
  await page.getByText('Aangemeld met de QR-code; de sleutel van het meldpunt is gecontroleerd.')
    .waitFor({ timeout: 20_000 });
  await setPin(page, () => shot(page, '2-pin'));
  await button(page, 'Delfshaven').waitFor({ timeout: 20_000 });
  // The fingerprint pinned is the one in the code.
  await page.getByRole('button', { name: /^Verzendstatus,/ }).click();
  await page.locator('#vingerafdruk').waitFor();
  await shot(page, '3-enrolled');
  await page.close();
});

test('a photo of a foreign QR code is refused in Dutch; a photo of the enrolment code enrols', async () => {
  const foreign = qrFile('qr-image', 'https://example.org/betaal?bedrag=10', 'foreign.bmp');
  const photo = qrFile('qr-image', invite(creds.enrolment_codes[1], fingerprint), 'enrol.bmp');
  const page = await openApp(context, apps[1].url);
  await page.setInputFiles('#qr-file', foreign);
  await page.getByText('Dit is geen aanmeldcode van Avondronde.').waitFor({ timeout: 20_000 });
  await shot(page, '4-foreign-qr');
  await page.setInputFiles('#qr-file', photo);
  await page.getByText('Aangemeld met de QR-code; de sleutel van het meldpunt is gecontroleerd.')
    .waitFor({ timeout: 20_000 });
  await setPin(page);
  await button(page, 'Delfshaven').waitFor({ timeout: 20_000 });

  // The gemeente locks its phones at once in the background; the phone pulls that rule.
  execFileSync(join(bins, 'avondronde-server'),
    ['admin', ...store.admin, 'set-phone-policy', '--gemeente', 'GM0599', '--lock-minutes', '0']);
  const hide = (state) => page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
  const locked = page.getByText('Avondronde is vergrendeld');
  for (let i = 0; i < 20 && !(await locked.isVisible()); i++) {
    await page.getByRole('button', { name: /^Verzendstatus,/ }).click();
    await button(page, 'Nu proberen').click();
    await page.waitForTimeout(500);
    await hide('hidden');
    await hide('visible');
    await page.waitForTimeout(300);
  }
  await locked.waitFor();
  assert.equal(await page.getByText('Delfshaven').count(), 0, 'no data behind the lock');
  await page.getByLabel('Pincode', { exact: true }).fill('0000');
  await button(page, 'Ontgrendelen').click();
  await page.getByText('Onjuiste pincode. Nog 9 pogingen.').waitFor();
  await shot(page, '5-locked');
  await page.getByLabel('Pincode', { exact: true }).fill(PIN);
  await button(page, 'Ontgrendelen').click();
  await page.getByText('Verzendstatus').first().waitFor();
  await page.close();
});
