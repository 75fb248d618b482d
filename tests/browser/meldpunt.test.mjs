// Issue 5 in a real browser: Chromium (Debian's, driven by playwright-core) at 1280×800
// against the demo server on 127.0.0.1. The meldpunt logs in, tries a wrong passphrase,
// unlocks the key, opens the most urgent zorgformulier, marks "bekend bij", plans the
// visit, sets the status with a message for the reporter, then looks at a matched form and
// the audit log. Nothing leaves the machine: every request off 127.0.0.1 is aborted.
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
import { totp } from './totp.mjs';
import { serverStore } from './app-support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

let server;
let base;
let creds;
let context;
let page;

/** Starts the demo server on a free loopback port and waits for its address. */
async function startDemo() {
  const bin = join(root, 'target', 'debug', 'avondronde-server');
  assert.ok(existsSync(bin), `${bin} is missing: run cargo build -p avondronde-server first`);
  const work = mkdtempSync(join(tmpdir(), 'avondronde-meldpunt-'));
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

const shot = (name) => page.screenshot({ path: join(artifacts, name), fullPage: true });

test('the meldpunt unlocks, opens the most urgent form, marks it and sets the status', async () => {
  const login = creds.web_users.meldpunt;
  assert.ok(creds.meldpunt_passphrase, 'the demo writes the meldpunt passphrase');
  await page.goto(base + '/login');
  await page.fill('#username', login.username);
  await page.fill('#password', login.password);
  await Promise.all([page.waitForURL(/\/login\/code$/), page.click('button[type=submit]')]);
  // The second step: the code of the authenticator app (computed from the demo's secret).
  assert.ok(login.totp_secret, 'the demo writes the meldpunt TOTP secret');
  await page.fill('#code', totp(login.totp_secret));
  await Promise.all([page.waitForURL(/\/meldpunt$/), page.click('button[type=submit]')]);

  // Locked: the list is there (no content in it), with the unlock form.
  assert.ok(await page.locator('table.inbox tbody tr').count() >= 5, 'the demo forms are listed');
  assert.ok(await page.locator('form.keybar.locked').isVisible());
  await shot('meldpunt-1-locked.png');

  // A wrong passphrase says so, in Dutch.
  await page.fill('#passphrase', 'dit is hem niet');
  await Promise.all([page.waitForURL(/fout=wachtwoordzin/), page.click('form.keybar button[type=submit]')]);
  assert.match(await page.locator('.notice.error').innerText(), /wachtwoordzin klopt niet/);
  await shot('meldpunt-2-wrong-passphrase.png');

  await page.fill('#passphrase', creds.meldpunt_passphrase);
  await Promise.all([page.waitForURL(/melding=ontgrendeld/), page.click('form.keybar button[type=submit]')]);
  assert.ok(await page.locator('.keybar.unlocked').isVisible());
  // Most urgent first: the first row is overdue and stands out.
  const first = page.locator('table.inbox tbody tr').first();
  assert.equal(await first.getAttribute('class'), 'overdue');
  assert.match(await first.innerText(), /Te laat/);
  assert.ok(await page.locator('.badge.match').count() >= 1, 'a repeated child is flagged');
  await shot('meldpunt-3-inbox-unlocked.png');

  // Open the most urgent form.
  const formId = await first.getAttribute('data-form');
  await Promise.all([page.waitForURL(new RegExp(`/meldpunt/formulieren/${formId}$`)), first.locator('a', { hasText: 'Openen' }).click()]);
  assert.ok(await page.locator('dl.content dd.name').isVisible(), 'the decrypted form');
  assert.match(await page.locator('#message-hint').innerText(), /Maximaal 280 tekens/);
  await shot('meldpunt-4-form-open.png');

  // Mark it: not known anywhere, so a visit; plan it for tomorrow 10:00; set the status.
  await page.check('input[name=known_to][value=onbekend]');
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  const visit = `${pad(tomorrow.getDate())}-${pad(tomorrow.getMonth() + 1)}-${tomorrow.getFullYear()} 10:00`;
  await page.fill('#visit_at', visit);
  await page.selectOption('#status', 'visit_planned');
  await page.fill('#message', 'Huisbezoek staat morgen gepland. We laten weten hoe het ging.');
  await Promise.all([page.waitForURL(/melding=opgeslagen/), page.click('form.handling button[type=submit]')]);
  assert.match(await page.locator('.notice.ok').innerText(), /Opgeslagen/);
  assert.equal(await page.inputValue('#status'), 'visit_planned');
  assert.equal(await page.inputValue('#visit_at'), visit);
  assert.ok(await page.isChecked('input[name=known_to][value=onbekend]'));
  await shot('meldpunt-5-saved.png');

  // Back in the list the form is no longer on the clock.
  await page.goto(base + '/meldpunt');
  const row = page.locator(`tr[data-form="${formId}"]`);
  assert.match(await row.innerText(), /huisbezoek gepland/);
  assert.match(await row.innerText(), new RegExp(`Bezoek ${visit.slice(0, 5)} 10:00`));
  assert.notEqual(await row.getAttribute('class'), 'overdue');
});

test('the inbox fits a desk screen and a phone without scrolling sideways', async () => {
  await page.goto(base + '/meldpunt');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  try {
    for (const width of [1280, 1024, 800, 390]) {
      await page.setViewportSize({ width, height: 800 });
      assert.ok(await overflow() <= 1, `the inbox is ${await overflow()}px wider than a ${width}px window`);
    }
    // On a phone every form is a card: each value carries its column's name.
    await shot('meldpunt-inbox-390.png');
    const card = page.locator('table.inbox tbody tr').first();
    const urgency = card.locator('td[data-label="Urgentie"]');
    const label = await urgency.evaluate((td) => getComputedStyle(td, '::before').content);
    assert.equal(label, '"Urgentie"');
    assert.ok(await card.locator('a', { hasText: 'Openen' }).isVisible());
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test('a repeated child links to the earlier form', async () => {
  await page.goto(base + '/meldpunt');
  const matched = page.locator('tr', { has: page.locator('.badge.match') }).first();
  await Promise.all([page.waitForURL(/\/meldpunt\/formulieren\//), matched.locator('a', { hasText: 'Openen' }).click()]);
  assert.match(await page.locator('.notice.match').innerText(), /vaker gemeld/);
  await shot('meldpunt-6-match.png');
  await Promise.all([page.waitForURL(/\/meldpunt\/formulieren\//), page.locator('ul.related a').first().click()]);
  assert.match(await page.locator('.notice.match').innerText(), /Later gemeld/);
});

test('the audit log shows every open and change, with an intact chain', async () => {
  await page.goto(base + '/audit');
  assert.match(await page.locator('.notice.ok').innerText(), /Keten intact/);
  const text = await page.locator('table.audit').innerText();
  for (const label of ['formulier geopend', 'afhandeling gewijzigd', 'sleutel ontgrendeld', 'ontgrendelen mislukt']) {
    assert.ok(text.includes(label), `audit shows "${label}"`);
  }
  assert.ok(text.includes('127.0.0.1'), 'with the address');
  await shot('meldpunt-7-audit.png');
});
