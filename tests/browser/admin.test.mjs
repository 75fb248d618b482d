// Issue 12's web admin in a real browser: Chromium (Debian's, driven by playwright-core)
// against the demo server on 127.0.0.1. The admin adds a coordinator for one wijk, who
// sets a password with the one-time code and sees only that wijk on /kaart; the admin
// disables that user and the login is refused; the enrolment screen shows a QR code with
// the invite; the meldpunt replaces its key on its own page. Dates on the map are typed as
// dd-mm-jjjj. Screenshots at 1280×800 and 390×844 go to artifacts/.
//
// Needs `cargo build -p avondronde-server` first.

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
let browser;

async function startDemo() {
  const bin = join(root, 'target', 'debug', 'avondronde-server');
  assert.ok(existsSync(bin), `${bin} is missing: run cargo build -p avondronde-server first`);
  const work = mkdtempSync(join(tmpdir(), 'avondronde-admin-'));
  const credsFile = join(work, 'creds.json');
  server = spawn(bin, ['demo', '--addr', '127.0.0.1:0', ...serverStore(join(work, 'demo.sqlite')).serve, '--credentials', credsFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo did not start in 120 s:\n' + out)), 120_000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.stderr.on('data', (c) => { out += c; });
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  creds = JSON.parse(readFileSync(credsFile, 'utf8'));
}

/** A fresh browser profile (its own cookies), phone- or desk-sized. */
async function newPage(width = 1280, height = 800) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'avondronde-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--lang=nl-NL', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width, height },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
  });
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort('internetdisconnected'));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => { throw e; });
  return { context, page };
}

/** Logs in; passes the second step with the TOTP secret when the page asks for it. */
async function login(page, username, password, secret) {
  await page.goto(base + '/login');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (/\/login\/code$/.test(page.url())) {
    let key = secret;
    if (!key) {
      // First login of a new user: the page shows the secret to type into an app.
      key = (await page.locator('.login.panel p.muted code').innerText()).trim();
    }
    await page.fill('#code', totp(key));
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    if (await page.locator('ul.codes').count()) {
      await Promise.all([page.waitForNavigation(), page.click('a:has-text("Verder")')]);
    }
  }
}

/** Screenshots of the current page at 1280×800 and at 390×844. */
async function shots(page, name) {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(artifacts, `${name}-1280.png`), fullPage: true });
  // Nothing sticks out sideways on a small tablet or a phone.
  for (const width of [700, 390]) {
    await page.setViewportSize({ width, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name}: ${overflow}px wider than a ${width}px window`);
  }
  await page.screenshot({ path: join(artifacts, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

let admin;

before(async () => {
  await startDemo();
  browser = await newPage();
  admin = browser.page;
  const a = creds.web_users.admin;
  await login(admin, a.username, a.password, a.totp_secret);
  assert.match(admin.url(), /\/beheer$/);
});

after(async () => {
  await browser?.context.close();
  server?.kill('SIGTERM');
});

test('every admin page speaks Dutch and fits a desk and a phone', async () => {
  for (const [path, name] of [['/beheer', 'admin-overview'], ['/beheer/gebruikers', 'admin-users'],
    ['/beheer/telefoons', 'admin-phones'], ['/beheer/instellingen', 'admin-settings']]) {
    await admin.goto(base + path);
    assert.equal(await admin.getAttribute('html', 'lang'), 'nl');
    for (const section of ['Gebruikers', 'Telefoons', 'Normen', 'Gebiedsregels', 'Wijken']) {
      assert.ok(await admin.locator('nav.subnav a', { hasText: section }).count() === 1, `${path}: ${section}`);
    }
    await shots(admin, name);
  }
  // The key's fingerprint as words on the overview (the settings page no longer repeats it).
  await admin.goto(base + '/beheer');
  const words = (await admin.locator('#key-fingerprint').innerText()).trim().split(/\s+/);
  assert.ok(words.length >= 6, `fingerprint words: ${words}`);
});

test('an empty username is refused in Dutch and nothing is added', async () => {
  await admin.goto(base + '/beheer/gebruikers');
  const before = await admin.locator('table.users tbody tr').count();
  // Spaces pass the browser's `required`; the server refuses them.
  await admin.fill('#username', '   ');
  await admin.selectOption('#role', 'coordinator');
  await admin.check('input[name=wijken][value=WK059904]');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/gebruikers"] button[type=submit]')]);
  assert.match(await admin.locator('.notice.error').innerText(), /Vul een gebruikersnaam in\. Er is niets gewijzigd\./);
  assert.equal(await admin.locator('table.users tbody tr').count(), before);
  // What was chosen is kept.
  assert.ok(await admin.isChecked('input[name=wijken][value=WK059904]'));
});

test('an added coordinator for one wijk sets a password, sees only that wijk, and is refused once disabled', async () => {
  await admin.goto(base + '/beheer/gebruikers');
  await admin.fill('#username', 'coord.overschie');
  await admin.selectOption('#role', 'coordinator');
  await admin.check('input[name=wijken][value=WK059904]');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/gebruikers"] button[type=submit]')]);
  const code = (await admin.locator('#first-password-code').innerText()).trim();
  assert.match(code, /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  const row = admin.locator('tr[data-user="coord.overschie"]');
  assert.match(await row.innerText(), /Overschie/, 'the wijk by its name');
  assert.match(await row.innerText(), /wacht op eerste wachtwoord/);
  await shots(admin, 'admin-user-added');

  // The coordinator, in a browser of their own: the code, a password, the login.
  const coord = await newPage(390, 844);
  try {
    const p = coord.page;
    await p.goto(base + '/wachtwoord');
    await p.fill('#username', 'coord.overschie');
    await p.fill('#code', code);
    await p.fill('#password', 'overschie-wachtwoord-1');
    await Promise.all([p.waitForURL(/\/login$/), p.click('button[type=submit]')]);
    await login(p, 'coord.overschie', 'overschie-wachtwoord-1');
    await p.waitForURL(/\/kaart/);
    const options = await p.locator('#hs-wijk option').allInnerTexts();
    assert.deepEqual(options, ['Overschie (WK059904)'], 'only the assigned wijk');
    await p.screenshot({ path: join(artifacts, 'admin-coordinator-kaart-390.png'), fullPage: true });
    // On a phone the map comes first, across the screen, and nothing sticks out sideways.
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the map page is ${overflow}px wider than a 390px phone`);
    const map = await p.locator('#hs-map').boundingBox();
    assert.ok(map.width >= 380 && map.height >= 300, `the map is ${map.width}×${map.height} on a phone`);
    const filters = await p.locator('#hs-wijk').boundingBox();
    assert.ok(filters.y > map.y + map.height, 'the filters come below the map');
  } finally {
    await coord.context.close();
  }

  // The admin disables them: first a question, then done.
  await admin.goto(base + '/beheer/gebruikers');
  await Promise.all([admin.waitForNavigation(), admin.click('tr[data-user="coord.overschie"] button:has-text("Uitschakelen")')]);
  assert.match(await admin.locator('.notice.confirm').innerText(), /coord\.overschie uitschakelen\?/);
  await shots(admin, 'admin-user-disable-confirm');
  await Promise.all([admin.waitForNavigation(), admin.click('.notice.confirm button[type=submit]')]);
  assert.match(await admin.locator('.notice.ok').innerText(), /is uitgeschakeld/);
  assert.match(await admin.locator('tr[data-user="coord.overschie"]').innerText(), /uitgeschakeld/);
  // Post/Redirect/Get: the page is a plain GET of the list, so a reload sends nothing.
  assert.match(admin.url(), /\/beheer\/gebruikers\?melding=/);

  const again = await newPage();
  try {
    const p = again.page;
    await p.goto(base + '/login');
    await p.fill('#username', 'coord.overschie');
    await p.fill('#password', 'overschie-wachtwoord-1');
    await Promise.all([p.waitForURL(/\/login\?fout=/), p.click('button[type=submit]')]);
    assert.match(await p.locator('.notice.error').innerText(), /klopt niet/);
  } finally {
    await again.context.close();
  }
});

test('a disabled user is enabled again, a coordinator\'s wijken change, and a reload resends nothing', async () => {
  await admin.goto(base + '/beheer/gebruikers');
  const row = () => admin.locator('tr[data-user="coord.overschie"]');
  await Promise.all([admin.waitForNavigation(), row().locator('button:has-text("Inschakelen")').click()]);
  assert.match(await admin.locator('.notice.ok').innerText(), /coord\.overschie is weer ingeschakeld/);
  assert.match(await row().innerText(), /actief/);
  await shots(admin, 'admin-user-enabled');
  await admin.reload();
  assert.equal(await admin.locator('.notice.ok').count(), 0, 'the result is shown once; the reload sent nothing');
  // Change the wijken: open the row's "Wijken wijzigen", tick a second wijk, save.
  await row().locator('summary:has-text("Wijken wijzigen")').click();
  const second = row().locator('input[name=wijken]:not(:checked)').first();
  const label = (await second.locator('xpath=..').innerText()).trim();
  await second.check();
  await shots(admin, 'admin-user-wijken-open');
  await Promise.all([admin.waitForNavigation(), row().locator('button:has-text("Wijken opslaan")').click()]);
  assert.match(await admin.locator('.notice.ok').innerText(), /coord\.overschie ziet nu 2 wijken/);
  assert.match(await row().innerText(), new RegExp(label));
});

test('the phone policy is set on the settings page, with a Dutch error for a bad value', async () => {
  await admin.goto(base + '/beheer/instellingen');
  await admin.fill('#lock_after_minutes', '5');
  await admin.fill('#contact_retention_days', '400');
  // The browser's own range check would stop the form; the server's message is the one we want to see.
  await admin.evaluate(() => document.querySelector('form[action="/beheer/telefooninstellingen"]').noValidate = true);
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/telefooninstellingen"] button[type=submit]')]);
  assert.match(await admin.locator('.notice.error').innerText(), /1 tot en met 365 dagen.*Er is niets gewijzigd/);
  assert.equal(await admin.inputValue('#contact_retention_days'), '400', 'what was typed is kept');
  await shots(admin, 'admin-settings-phone-error');
  await admin.fill('#contact_retention_days', '14');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/telefooninstellingen"] button[type=submit]')]);
  assert.match(await admin.locator('.notice.ok').innerText(), /telefooninstellingen zijn opgeslagen/);
  assert.equal(await admin.inputValue('#contact_retention_days'), '14');
  assert.equal(await admin.locator('#key-fingerprint').count(), 0, 'the key block is only on the overview');
  await shots(admin, 'admin-settings');
});

test('the audit log reads in Dutch, with names, and map views apart from exports', async () => {
  await admin.goto(base + '/audit');
  const text = await admin.locator('table.audit').innerText();
  assert.match(text, /gebruiker ingeschakeld/);
  assert.match(text, /coord\.overschie als coördinator/);
  assert.match(text, /telefooninstellingen gewijzigd/);
  assert.doesNotMatch(text, /geblokkeerd|toestellen|received|visit_planned|hotspot cells/);
  // No user id where the name is known.
  assert.doesNotMatch(text, /gebruiker [0-9a-f]{8}-/);
  await shots(admin, 'admin-audit');
});

test('the enrolment screen shows a QR code with the server, the code and the fingerprint', async () => {
  await admin.goto(base + '/beheer/telefoons');
  // Two phones of one person are told apart by their enrolment date and number; the clock explains itself.
  assert.ok(await admin.locator('table.phones th', { hasText: 'Aangemeld op' }).count() === 1);
  const dates = await admin.locator('table.phones td[data-label="Aangemeld op"]').allInnerTexts();
  assert.ok(dates.length >= 1 && dates.every((d) => /^\d{2}-\d{2}-\d{4}/.test(d.trim())), `enrolment dates: ${dates}`);
  // No phone was last seen before it was enrolled (the demo's care forms are dated weeks
  // back, but its phones sent everything just now).
  const when = (d) => {
    const [day, month, year, hour, minute] = d.trim().match(/\d+/g).map(Number);
    return new Date(year, month - 1, day, hour, minute).getTime();
  };
  const seen = await admin.locator('table.phones td[data-label="Laatst gezien"]').allInnerTexts();
  seen.forEach((s, i) => {
    if (s.trim() !== 'nooit') assert.ok(when(s) >= when(dates[i]), `phone ${i}: last seen ${s} before its enrolment ${dates[i]}`);
  });
  assert.match(await admin.locator('table.phones th', { hasText: 'Klok' }).getAttribute('title'), /klok van de telefoon/);
  await shots(admin, 'admin-phones-dates');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/code"] button[type=submit]')]);
  assert.ok(await admin.locator('#enrol-qr svg').isVisible(), 'a QR code on screen');
  // The app's own button text (app/src/ui/enrol.rs).
  assert.match(await admin.locator('#enrol').innerText(), /tik op Scan QR-code/);
  const invite = await admin.getAttribute('#enrol-qr', 'data-invite');
  const code = (await admin.locator('#enrol-code').innerText()).trim();
  const words = (await admin.locator('#enrol-fingerprint strong').innerText()).trim();
  const fields = invite.split(';');
  assert.equal(fields[0], 'avondronde:1');
  assert.equal(fields[1], base, 'the address this browser used');
  assert.equal(fields[2], code.replace(/-/g, ''), 'the code to type is the code in the QR code');
  assert.match(fields[3], /^[A-Za-z0-9_-]{43}$/, 'the fingerprint');
  assert.ok(words.split(' ').length >= 6);
  // The QR code has the dark modules of a real code (a version-4+ symbol at least).
  const rects = await admin.locator('#enrol-qr svg path, #enrol-qr svg rect').count();
  assert.ok(rects >= 1);
  await shots(admin, 'admin-enrol-qr');
});

test('retention periods: a wrong one is refused in Dutch, a right one is saved', async () => {
  await admin.goto(base + '/beheer/instellingen');
  await admin.fill('#open_form_warn_months', '14');
  await admin.fill('#open_form_months', '12');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/bewaartermijnen"] button[type=submit]')]);
  assert.match(await admin.locator('.notice.error').innerText(), /vóór de verwijdering/);
  assert.equal(await admin.inputValue('#open_form_warn_months'), '14', 'what was typed is kept');
  await admin.fill('#open_form_warn_months', '4');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action="/beheer/bewaartermijnen"] button[type=submit]')]);
  assert.match(await admin.locator('.notice.ok').innerText(), /opgeslagen/);
  assert.equal(await admin.inputValue('#open_form_warn_months'), '4');
});

test('the meldpunt replaces its key on its own page and sees the same fingerprint words', async () => {
  const mp = await newPage();
  try {
    const p = mp.page;
    const m = creds.web_users.meldpunt;
    await login(p, m.username, m.password, m.totp_secret);
    await p.goto(base + '/meldpunt/sleutel');
    assert.equal(await p.getAttribute('html', 'lang'), 'nl');
    const words = (await p.locator('#key-fingerprint').innerText()).trim();
    await shots(p, 'meldpunt-key');
    await p.fill('#passphrase', 'dit is hem niet');
    await p.fill('#new_passphrase', 'een nieuwe lange wachtwoordzin');
    await p.fill('#repeat', 'een nieuwe lange wachtwoordzin');
    await Promise.all([p.waitForNavigation(), p.click('button:has-text("Sleutel vervangen")')]);
    assert.match(await p.locator('.notice.error').innerText(), /wachtwoordzin klopt niet.*Er is niets gewijzigd/);
    assert.match(await p.locator('#key-status').innerText(), /Sleutels \(met oude\)\s*1/);
    await p.fill('#passphrase', creds.meldpunt_passphrase);
    await p.fill('#new_passphrase', 'een nieuwe lange wachtwoordzin');
    await p.fill('#repeat', 'een nieuwe lange wachtwoordzin');
    await Promise.all([p.waitForNavigation(), p.click('button:has-text("Sleutel vervangen")')]);
    assert.match(await p.locator('.notice.ok').innerText(), /is vervangen/);
    assert.match(await p.locator('#key-status').innerText(), /Sleutels \(met oude\)\s*2/);
    assert.equal((await p.locator('#key-fingerprint').innerText()).trim(), words, 'phones keep their pin');
    await shots(p, 'meldpunt-key-rotated');
    // The new passphrase unlocks the inbox.
    await p.goto(base + '/meldpunt');
    await p.fill('#passphrase', 'een nieuwe lange wachtwoordzin');
    await Promise.all([p.waitForURL(/melding=ontgrendeld/), p.click('form.keybar button[type=submit]')]);
    assert.ok(await p.locator('.keybar.unlocked').isVisible());
  } finally {
    await mp.context.close();
  }
});

test('map dates are typed as dd-mm-jjjj, and anything else gets a Dutch error', async () => {
  const c = await newPage();
  try {
    const p = c.page;
    const login_ = creds.web_users.coordinator;
    await login(p, login_.username, login_.password, login_.totp_secret);
    await p.waitForURL(/\/kaart/);
    const from = p.locator('input[name=from]');
    assert.equal(await from.getAttribute('type'), 'text');
    assert.match(await from.inputValue(), /^\d{2}-\d{2}-\d{4}$/);
    await p.waitForFunction(() => !!document.getElementById('hs-map').dataset.query, null, { timeout: 60_000 });
    await from.fill('31-02-2026');
    await from.dispatchEvent('change');
    await p.waitForFunction(() => /geen datum/.test(document.querySelector('.hs-status').textContent));
    assert.match(await p.locator('.hs-status').innerText(), /"31-02-2026" is geen datum; typ de datum als dd-mm-jjjj/);
    assert.equal(await from.getAttribute('aria-invalid'), 'true');
    await p.screenshot({ path: join(artifacts, 'kaart-date-error-1280.png') });
    const good = await p.evaluate(() => {
      const d = new Date(Date.now() - 20 * 86400000);
      return String(d.getDate()).padStart(2, '0') + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + d.getFullYear();
    });
    await from.fill(good);
    await from.dispatchEvent('change');
    const iso = good.split('-').reverse().join('-');
    await p.waitForFunction((iso_) => (document.getElementById('hs-map').dataset.query || '').includes('from=' + iso_), iso, { timeout: 60_000 });
    assert.equal(await from.getAttribute('aria-invalid'), null);
  } finally {
    await c.context.close();
  }
});
