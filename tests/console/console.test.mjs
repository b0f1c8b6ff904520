// End-to-end tests of the web console: Debian's Chromium, headless, driven by playwright-core,
// against a real flag-server that tests/tests/console/main.rs starts (embedded store, port 0)
// and names in FLAG_CONSOLE_URL, with the admin token FLAG_CONSOLE_TOKEN. The tests run in
// order in one browser, as a person would use the console: sign in, create a flag, toggle it,
// roll it out to 25% in production through the confirm step, edit a rule, read the audit
// diff, see a curl call's change arrive live, see a bad input's error beside its field, issue
// and revoke an SDK key, run release plans (to completion, paused / resumed / aborted, rolled
// back by a guard answering 500 from a small HTTP server started here) and scheduled changes
// (applied, cancelled). Every request the page makes is recorded: none may leave the
// server's origin. Screenshots of the main pages at 1280×800 and 390×844 go to
// FLAG_CONSOLE_SCREENSHOTS (docs/console/ when refreshing the committed ones), with the release
// panel alone as release.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.FLAG_CONSOLE_URL;
const TOKEN = process.env.FLAG_CONSOLE_TOKEN;
const SHOTS = process.env.FLAG_CONSOLE_SCREENSHOTS;
const ENV = 'production';
const KEY = 'new_checkout';
assert.ok(BASE && TOKEN, 'FLAG_CONSOLE_URL and FLAG_CONSOLE_TOKEN name the server under test');
const ORIGIN = new URL(BASE).origin;

let browser;
let page;
const requests = [];
const pageErrors = [];
const timings = {};

const apiCall = async (method, path, body) => {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
const getFlag = async (key = KEY) => (await apiCall('GET', `/environments/${ENV}/flags/${key}`)).body;

/** Waits until `check()` is true (polling), failing with `what` after 10 s. */
async function until(what, check, timeout = 10_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A tiny HTTP server answering every request with `status` and `body` (a release guard's target). */
async function answering(status, body) {
  const server = createServer((req, res) => {
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/health`,
    close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }),
  };
}

/** Opens the folded form `name` (a `<details>` of a flag's page) in `panel`, unless open. */
async function unfold(panel, name) {
  const details = panel.locator('details', { has: panel.page().locator('summary', { hasText: name }) });
  if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
}

async function newPage(viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const p = await context.newPage();
  p.setDefaultTimeout(8000);
  p.on('request', (r) => requests.push(r.url()));
  p.on('pageerror', (e) => pageErrors.push(String(e)));
  p.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  return p;
}

async function signIn(p, token = TOKEN) {
  await p.goto(`${BASE}/`);
  await p.getByLabel('Admin token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

/** The change dialog: fills the reason and confirms. */
async function confirmDialog(p, reason, { expect: text } = {}) {
  const dialog = p.locator('dialog[open]');
  await dialog.waitFor();
  const handle = await dialog.elementHandle();
  if (text) assert.match(await dialog.innerText(), text);
  if (reason) await dialog.getByLabel(/Reason/).fill(reason);
  await dialog.locator('button[type=submit]').click();
  // This dialog closes (another one, such as an SDK key's secret, may open after it).
  await handle.waitForElementState('hidden');
}

async function shot(p, name) {
  if (!SHOTS) return;
  // From the top of the page, without the toasts of earlier steps.
  await p.evaluate(async () => {
    document.getElementById('toasts')?.replaceChildren();
    window.scrollTo(0, 0);
    await document.fonts.ready;
  });
  const size = p.viewportSize();
  await p.screenshot({ path: join(SHOTS, `${name}-${size.width}x${size.height}.png`), fullPage: false });
}

/** Every form control of the page has a name a screen reader can say. */
async function unlabelledControls(p) {
  return p.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !el.closest('[hidden]') && el.type !== 'hidden')
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 120)));
}

before(async () => {
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  page = await newPage({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  console.log(`console timings (cold browser, test build): ${JSON.stringify(timings)}`);
});

test('the console is served with a strict Content-Security-Policy and safe headers', async () => {
  const res = await fetch(`${BASE}/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /\sstyle=/, 'no inline style');
  const again = await fetch(`${BASE}/`, { headers: { 'If-None-Match': res.headers.get('etag') } });
  assert.equal(again.status, 304);
});

test('a wrong token is refused beside its field; the right one signs in', async () => {
  const start = Date.now();
  await page.goto(`${BASE}/`);
  timings.first_contentful_paint_ms = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
  timings.sign_in_page_ready_ms = Date.now() - start;
  await page.getByLabel('Admin token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const error = page.locator('[data-field="token"] .error');
  await error.waitFor();
  assert.match(await error.innerText(), /does not know this token/);
  assert.equal(await page.getByLabel('Admin token').getAttribute('aria-invalid'), 'true');
  await shot(page, 'signin');
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Flags', exact: true }).waitFor();
  assert.match(page.url(), /#\/e\/production$/);
  // The token is in sessionStorage only, and never in the URL.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('flag-console.token')), TOKEN);
  assert.equal(await page.evaluate(() => localStorage.getItem('flag-console.token')), null);
});

test('a bad key is refused with the error beside the key field, and nothing is written', async () => {
  await page.getByRole('link', { name: 'New flag' }).click();
  await page.getByLabel('Key').fill('bad key!');
  await page.getByRole('button', { name: 'Create flag' }).click();
  await confirmDialog(page, '');
  const error = page.locator('[data-field="key"] > .error');
  await error.waitFor();
  assert.match(await error.innerText(), /key/i);
  assert.equal(await page.getByLabel('Key').getAttribute('aria-invalid'), 'true');
  const list = await apiCall('GET', `/environments/${ENV}/flags`);
  assert.equal(list.body.flags.length, 0);
});

test('create a flag with a reason: it starts disabled and the audit log has the reason', async () => {
  await page.getByLabel('Key').fill(KEY);
  await page.getByLabel('Description').fill('New checkout flow');
  await page.getByLabel('Owner').fill('team-payments');
  await page.getByLabel('Tags').fill('checkout, payments');
  await page.getByRole('button', { name: 'Create flag' }).click();
  await confirmDialog(page, 'JIRA-1: ship dark', { expect: /in production/ });
  await page.getByRole('heading', { name: KEY }).waitFor();
  const flag = await getFlag();
  assert.equal(flag.enabled, false);
  assert.equal(flag.owner, 'team-payments');
  assert.deepEqual(flag.tags, ['checkout', 'payments']);
  const audit = await apiCall('GET', `/environments/${ENV}/audit?flag=${KEY}`);
  assert.equal(audit.body.entries[0].action, 'create');
  assert.equal(audit.body.entries[0].reason, 'JIRA-1: ship dark');
  assert.equal(audit.body.entries[0].actor, 'admin');
});

test('toggle the kill switch from the list', async () => {
  await page.getByRole('link', { name: `← Flags of ${ENV}` }).click();
  const toggle = page.getByRole('switch', { name: `${KEY} enabled` });
  assert.equal(await toggle.isChecked(), false);
  await toggle.click();
  // Nothing changes before the confirm step.
  assert.equal((await getFlag()).enabled, false);
  await confirmDialog(page, 'turn on for staff testing', { expect: /Enable new_checkout/ });
  await until('the flag is enabled', async () => (await getFlag()).enabled === true);
  await until('the switch shows it', async () => toggle.isChecked());
});

test('roll out to 25% in production: cancel changes nothing, confirm applies it', async () => {
  await page.getByRole('link', { name: KEY, exact: true }).click();
  const percentage = page.getByLabel('Rollout percentage');
  await percentage.fill('25');
  await page.getByRole('button', { name: 'Apply rollout' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  const text = await dialog.innerText();
  assert.match(text, /This changes production/);
  assert.match(text, /0%\s*→\s*25%/);
  await shot(page, 'confirm-rollout');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await getFlag()).percentage, 0);
  await page.getByRole('button', { name: 'Apply rollout' }).click();
  await confirmDialog(page, 'canary step 3', { expect: /Roll out to 25% in production/ });
  await until('the flag is at 25%', async () => (await getFlag()).percentage === 25);
});

test('a bad regex in a rule shows its error beside the values field', async () => {
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Attribute').fill('email');
  await page.getByLabel('Operator').selectOption('matches');
  await page.getByLabel('Values').fill('([unclosed');
  await page.getByRole('button', { name: 'Save targeting' }).click();
  await confirmDialog(page, '');
  const error = page.locator('[data-field="rules[0].conditions[0].values"] .error');
  await error.waitFor();
  assert.match(await error.innerText(), /regex|regular expression|parse/i);
  assert.equal((await getFlag()).rules.length, 0, 'nothing written');
});

test('edit a rule: the flag serves 100% to DE and FR', async () => {
  await page.getByLabel('Operator').selectOption('in');
  await page.getByLabel('Attribute').fill('country');
  await page.getByLabel('Values').fill('DE\nFR');
  await page.getByLabel('Rule id').fill('eu');
  await page.getByLabel('Percentage of users').first().fill('100');
  await page.getByRole('button', { name: 'Save targeting' }).click();
  await confirmDialog(page, 'EU first');
  await until('the rule is stored', async () => (await getFlag()).rules.length === 1);
  const flag = await getFlag();
  assert.deepEqual(flag.rules[0], {
    id: 'eu', conditions: [{ attribute: 'country', operator: 'in', values: ['DE', 'FR'] }], percentage: 100,
  });
  assert.equal(flag.percentage, 25, 'the rollout is kept');
  await shot(page, 'flag');
});

test('the history shows each change with its before/after diff and reason', async () => {
  const history = page.locator('.history .entries');
  await until('the history lists four entries', async () => (await history.locator('> li').count()) === 4);
  const rollout = history.locator('li', { hasText: 'canary step 3' });
  const row = rollout.locator('tr', { hasText: 'percentage' });
  assert.equal(await row.locator('td.before').innerText(), '0');
  assert.equal(await row.locator('td.after').innerText(), '25');
  const rule = history.locator('li', { hasText: 'EU first' });
  assert.match(await rule.innerText(), /rules\[0\]/);
  await page.getByRole('link', { name: 'History' }).click();
  await page.getByRole('heading', { name: `History of ${ENV}` }).waitFor();
  await page.locator('.entries > li').first().waitFor();
  await shot(page, 'history');
});

test('a change made with curl appears live, without a reload', async () => {
  await page.getByRole('link', { name: 'Flags', exact: true }).click();
  const toggle = page.getByRole('switch', { name: `${KEY} enabled` });
  await until('the switch is on', async () => toggle.isChecked());
  await until('the stream is live', async () => (await page.locator('.live').innerText()) === 'Live');
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  execFileSync('curl', ['-sf', '-X', 'PATCH', `${BASE}/api/v1/environments/${ENV}/flags/${KEY}`,
    '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'Content-Type: application/json',
    '-H', 'X-Change-Reason: pulled by on-call', '-d', '{"enabled": false, "percentage": 5}']);
  await until('the switch turns off', async () => !(await toggle.isChecked()));
  const row = page.locator(`tr[data-key="${KEY}"]`);
  assert.match(await row.locator('.rollout').innerText(), /^5%/);
  assert.deepEqual(navigations, [], 'no reload');
  // Another browser's change too.
  const other = await newPage({ width: 1280, height: 800 });
  await signIn(other);
  await other.getByRole('switch', { name: `${KEY} enabled` }).click();
  await confirmDialog(other, 'from the second browser');
  await until('the first browser sees it', async () => toggle.isChecked());
  await other.context().close();
});

test('the flag list filters by search, tag, owner, state and staleness', async () => {
  await apiCall('POST', `/environments/${ENV}/flags`, { key: 'old_banner', enabled: false, percentage: 0, tags: ['marketing'], expires_at: '2026-01-01T00:00:00Z' });
  const rows = page.locator('table.flags tbody tr[data-key]');
  await until('the new flag appears live', async () => (await rows.count()) === 2);
  assert.match(await page.locator('tr[data-key="old_banner"]').innerText(), /stale: expired/);
  await page.getByLabel('Stale only').check();
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), ['old_banner']);
  await page.getByLabel('Stale only').uncheck();
  await page.getByLabel('Tag').selectOption('checkout');
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), [KEY]);
  await page.getByLabel('Tag').selectOption('');
  await page.getByLabel('Owner').selectOption('team-payments');
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), [KEY]);
  await page.getByLabel('Owner').selectOption('');
  await page.getByLabel('State').selectOption('false');
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), ['old_banner']);
  await page.getByLabel('State').selectOption('');
  await page.getByLabel('Search').fill('checkout flow');
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), [KEY]);
  await page.getByLabel('Search').fill('');
});

test('each row shows the usage SDKs report', async () => {
  const issued = await apiCall('POST', `/environments/${ENV}/sdk-keys`, { name: 'metrics-demo' });
  const now = new Date();
  const res = await fetch(`${BASE}/api/v1/sdk/metrics`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${issued.body.key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      period_start: new Date(now - 60_000).toISOString(), period_end: now.toISOString(),
      flags: { [KEY]: { yes: 1234, no: 56 } },
    }),
  });
  assert.equal(res.status, 202);
  await page.goto(`${BASE}/#/e/${ENV}`);
  await page.reload();
  const usage = page.locator(`tr[data-key="${KEY}"] td[data-label="Usage"]`);
  await until('the usage shows', async () => /1,234 on · 56 off, last/.test(await usage.innerText()));
  assert.match(await page.locator('tr[data-key="old_banner"] td[data-label="Usage"]').innerText(), /not evaluated/);
  await shot(page, 'flags');
});

test('the environment switcher shows another environment\'s flags', async () => {
  await apiCall('POST', '/environments/development/flags', { key: 'dev_only', enabled: true });
  await page.getByLabel('Environment').selectOption('development');
  await page.waitForURL(/#\/e\/development$/);
  const rows = page.locator('table.flags tbody tr[data-key]');
  await until('development\'s flags show', async () => (await rows.count()) === 1);
  assert.deepEqual(await rows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), ['dev_only']);
  await page.getByLabel('Environment').selectOption(ENV);
  await page.waitForURL(/#\/e\/production$/);
  await until('production\'s flags show again', async () => (await page.locator(`tr[data-key="${KEY}"]`).count()) === 1);
});

test('the kill switch works with the keyboard alone', async () => {
  await page.goto(`${BASE}/#/e/${ENV}`);
  await page.getByRole('switch', { name: `${KEY} enabled` }).waitFor();
  const was = (await getFlag()).enabled;
  let focused = '';
  for (let i = 0; i < 40 && focused !== `${KEY} enabled`; i += 1) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') || '');
  }
  assert.equal(focused, `${KEY} enabled`, 'the switch is reachable with Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.press('Space');
  await page.locator('dialog[open]').waitFor();
  await page.keyboard.type('keyboard only');
  await page.keyboard.press('Enter');
  await until('the flag flipped', async () => (await getFlag()).enabled === !was);
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
});

test('delete asks for the key to be typed', async () => {
  await page.goto(`${BASE}/#/e/${ENV}/f/old_banner`);
  await page.getByRole('button', { name: 'Delete flag' }).click();
  const dialog = page.locator('dialog[open]');
  const confirm = dialog.getByRole('button', { name: /Delete in production/ });
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel('Type old_banner to confirm').fill('old_banne');
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel('Type old_banner to confirm').fill('old_banner');
  await confirm.click();
  await page.getByRole('heading', { name: 'Flags', exact: true }).waitFor();
  assert.equal((await apiCall('GET', `/environments/${ENV}/flags/old_banner`)).status, 404);
});

test('SDK keys: issue one (secret shown once, copyable), list it, revoke it', async () => {
  await page.getByRole('link', { name: 'SDK keys' }).click();
  await page.getByLabel('Name').fill('checkout-service');
  await page.getByRole('button', { name: 'Issue key' }).click();
  await confirmDialog(page, 'new service');
  const secretDialog = page.locator('dialog[open]');
  await secretDialog.getByRole('heading', { name: /SDK key checkout-service/ }).waitFor();
  const secret = await secretDialog.getByLabel('Secret').inputValue();
  assert.ok(secret.length > 20);
  assert.equal((await fetch(`${BASE}/api/v1/sdk/flags`, { headers: { Authorization: `Bearer ${secret}` } })).status, 200);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  await secretDialog.getByRole('button', { name: 'Copy' }).click();
  await secretDialog.getByText('Copied.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await shot(page, 'sdk-key-secret');
  await secretDialog.getByRole('button', { name: 'Done' }).click();
  const row = page.locator('table.keys tbody tr', { hasText: 'checkout-service' });
  await row.waitFor();
  assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(secret), 'the secret is not listed');
  await shot(page, 'sdk-keys');
  await row.getByRole('button', { name: /Revoke/ }).click();
  await confirmDialog(page, 'service retired');
  await row.waitFor({ state: 'detached' });
  await until('the revoked key is refused', async () => (await fetch(`${BASE}/api/v1/sdk/flags`, { headers: { Authorization: `Bearer ${secret}` } })).status === 401);
});

test('a string flag: variants, a 50/50 split by default, and a rule on a segment', async () => {
  await apiCall('PUT', `/environments/${ENV}/segments/beta-testers`, { key: 'beta-testers', included: ['u1'] });
  await page.goto(`${BASE}/#/e/${ENV}/new`);
  await page.getByLabel('Key').fill('checkout_button');
  await page.getByLabel('Type').selectOption('string');
  await page.getByLabel('Variants').fill('blue=#0050ff\ngreen=#00a050');
  await page.getByRole('button', { name: 'Create flag' }).click();
  await confirmDialog(page, 'A/B test of the button colour');
  await page.getByRole('heading', { name: 'checkout_button' }).waitFor();
  const byDefault = page.locator('fieldset.default');
  await byDefault.getByLabel('Serve', { exact: true }).selectOption('split');
  await byDefault.getByLabel('blue %').fill('50');
  await byDefault.getByLabel('green %').fill('50');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await page.getByLabel('Attribute').fill('user_id');
  await page.getByLabel('Operator').selectOption('in_segment');
  assert.match(await page.locator('.values .hint').innerText(), /beta-testers/);
  await page.getByLabel('Values').fill('beta-testers');
  await page.locator('fieldset.rule').getByLabel('Variant').selectOption('green');
  await page.getByRole('button', { name: 'Save targeting' }).click();
  await confirmDialog(page, 'beta testers see green');
  await until('the targeting is stored', async () => (await getFlag('checkout_button')).rules.length === 1);
  const flag = await getFlag('checkout_button');
  assert.deepEqual(flag.default_serve, { split: [{ variant: 'blue', weight: 5000 }, { variant: 'green', weight: 5000 }] });
  assert.deepEqual(flag.rules, [{ id: 'rule-1', conditions: [{ attribute: 'user_id', operator: 'in_segment', values: ['beta-testers'] }], serve: { variant: 'green' } }]);
  // A split that does not sum to 100% is refused beside the split.
  await byDefault.getByLabel('green %').fill('40');
  await page.getByRole('button', { name: 'Save targeting' }).click();
  await confirmDialog(page, '');
  const error = page.locator('[data-field="default_serve.split"] > .error');
  await error.waitFor();
  assert.match(await error.innerText(), /10,?000|sum/i);
  await page.getByRole('button', { name: 'Discard edits' }).click();
  assert.equal((await getFlag('checkout_button')).version, flag.version, 'nothing written');
  await shot(page, 'typed-flag');
});

test('a release plan started from the flag page raises the percentage step by step and completes', async () => {
  await apiCall('POST', `/environments/${ENV}/flags`, { key: 'release_demo', enabled: true, percentage: 0 });
  await page.goto(`${BASE}/#/e/${ENV}/f/release_demo`);
  const panel = page.locator('section.release');
  await panel.getByText('This flag has no release plan.').waitFor();
  await unfold(panel, 'Start a release');
  assert.equal(await panel.getByLabel('Steps').inputValue(), '1, 5, 25, 100');
  assert.equal(await panel.getByLabel('Interval').inputValue(), '10m');
  await panel.getByLabel('Interval').fill('1s');
  await panel.getByRole('button', { name: 'Start release' }).click();
  await confirmDialog(page, 'demo canary', { expect: /1% → 5% → 25% → 100%, one step every 1s/ });
  // The page follows the flag as the server moves it, and the panel the plan.
  const percentage = page.getByLabel('Rollout percentage');
  const status = panel.locator('.release-status');
  const seen = new Set();
  await until('the plan completes', async () => {
    seen.add(await percentage.inputValue());
    return /completed/.test(await status.innerText());
  }, 20_000);
  assert.ok(seen.has('25'), `the rollout showed 25% on the way (saw ${[...seen]})`);
  await until('the rollout shows 100%', async () => (await percentage.inputValue()) === '100');
  assert.equal(await panel.locator('.step.done').count(), 4);
  assert.match(await panel.locator('.facts').innerText(), /Step\s+4 of 4 \(100%\)/);
  assert.match(await panel.locator('.release-message').innerText(), /completed at 100%/);
  assert.equal((await getFlag('release_demo')).percentage, 100);
  // The plan is over: a new one may be started.
  await panel.getByText('Start a release').waitFor();
  // Each step is an audit entry of the person who started the plan, with the plan's reason.
  const history = page.locator('.history .entries');
  await until('the history shows the four steps', async () => (await history.locator('> li', { hasText: /step \d\/4/ }).count()) === 4);
  assert.match(await history.locator('> li').first().innerText(), /admin changed[\s\S]*demo canary \(release rel_[0-9a-f]+ step 4\/4: 100%\)/);
});

test('a 400\'s field error shows beside the steps field, and no plan starts', async () => {
  const before = (await apiCall('GET', `/environments/${ENV}/flags/release_demo/release`)).body;
  const panel = page.locator('section.release');
  await unfold(panel, 'Start a release');
  await panel.getByLabel('Steps').fill('5, 1');
  await panel.getByRole('button', { name: 'Start release' }).click();
  await confirmDialog(page, '');
  const error = panel.locator('[data-field="steps"] > .error');
  await error.waitFor();
  assert.match(await error.innerText(), /steps\[1\]: must be above the step before/);
  assert.equal(await panel.getByLabel('Steps').getAttribute('aria-invalid'), 'true');
  assert.equal((await apiCall('GET', `/environments/${ENV}/flags/release_demo/release`)).body.id, before.id, 'no new plan');
});

test('pause, resume and abort a guarded release; the list shows it releasing', async () => {
  const health = await answering(200, 'ok');
  try {
    await apiCall('POST', `/environments/${ENV}/flags`, { key: 'guarded_release', enabled: true, percentage: 0 });
    await page.goto(`${BASE}/#/e/${ENV}/f/guarded_release`);
    const panel = page.locator('section.release');
    await panel.getByText('This flag has no release plan.').waitFor();
    await unfold(panel, 'Start a release');
    await panel.getByLabel('Interval').fill('1h');
    await panel.getByLabel('Guard', { exact: true }).selectOption('http');
    await panel.getByLabel('Guard URL').fill(health.url);
    await panel.getByLabel('Check every').fill('1s');
    await panel.getByRole('button', { name: 'Start release' }).click();
    await confirmDialog(page, 'checkout v2', { expect: /Guard: HTTP http:\/\/127\.0\.0\.1/ });
    const status = panel.locator('.release-status');
    await until('the first step is applied and the guard passed', async () => (await panel.locator('.step.done').count()) === 1
      && (await panel.locator('.last-check .outcome').count()) === 1 && (await panel.locator('.last-check .outcome').innerText()).toLowerCase() === 'pass');
    assert.match(await status.innerText(), /running/);
    const facts = await panel.locator('.facts').innerText();
    assert.match(facts, /Next step\s+in (\d+ minutes|1 hour)/);
    assert.match(facts, /HTTP http:\/\/127\.0\.0\.1:\d+\/health, every 1s/);
    assert.match(await panel.locator('.last-check .detail').innerText(), /answered 200 OK/);
    assert.equal(await panel.getByText('Start a release').isVisible(), false, 'no second plan while one is active');
    if (SHOTS) {
      await page.evaluate(() => document.getElementById('toasts')?.replaceChildren());
      await panel.screenshot({ path: join(SHOTS, 'release.png') });
    }

    // The flag list marks the flag while its plan is active.
    await page.getByRole('link', { name: `← Flags of ${ENV}` }).click();
    const badge = page.locator('tr[data-key="guarded_release"] .badge.releasing');
    await until('the list shows the release', async () => (await badge.count()) === 1 && (await badge.innerText()) === 'releasing 1%');
    await page.getByRole('link', { name: 'guarded_release', exact: true }).click();

    await panel.getByRole('button', { name: 'Pause' }).click();
    await confirmDialog(page, 'looking at the graphs', { expect: /Pause the release of guarded_release\?[\s\S]*This changes production/ });
    await until('the panel shows it paused', async () => /paused/.test(await status.innerText()));
    assert.match(await panel.locator('.release-message').innerText(), /paused by admin/);
    assert.equal((await apiCall('GET', `/environments/${ENV}/flags/guarded_release/release`)).body.status, 'paused');

    await panel.getByRole('button', { name: 'Resume' }).click();
    await confirmDialog(page, '', { expect: /Resume the release/ });
    await until('the panel shows it running again', async () => /running/.test(await status.innerText()));
    assert.equal((await apiCall('GET', `/environments/${ENV}/flags/guarded_release/release`)).body.status, 'running');

    await panel.getByRole('button', { name: 'Abort' }).click();
    await confirmDialog(page, 'wrong build', { expect: /Abort the release/ });
    await until('the panel shows it aborted', async () => /aborted/.test(await status.innerText()));
    await panel.getByText('Start a release').waitFor();
    assert.equal(await panel.getByRole('button', { name: 'Pause' }).count(), 0);
    const plan = (await apiCall('GET', `/environments/${ENV}/flags/guarded_release/release`)).body;
    assert.equal(plan.status, 'aborted');
    assert.equal((await getFlag('guarded_release')).percentage, 1, 'an abort leaves the flag where it is');

    await page.getByRole('link', { name: `← Flags of ${ENV}` }).click();
    await page.locator('tr[data-key="guarded_release"]').waitFor();
    await until('the badge is gone', async () => (await page.locator('tr[data-key="guarded_release"] .badge.releasing').count()) === 0);
  } finally {
    await health.close();
  }
});

test('a guard answering 500 rolls the flag back, and the panel says why', async () => {
  const failing = await answering(500, 'database down');
  try {
    await apiCall('POST', `/environments/${ENV}/flags`, { key: 'doomed_release', enabled: true, percentage: 5 });
    await page.goto(`${BASE}/#/e/${ENV}/f/doomed_release`);
    const panel = page.locator('section.release');
    await panel.getByText('This flag has no release plan.').waitFor();
    await unfold(panel, 'Start a release');
    await panel.getByLabel('Steps').fill('10, 50, 100');
    await panel.getByLabel('Rollback to').fill('2');
    await panel.getByLabel('Guard', { exact: true }).selectOption('http');
    await panel.getByLabel('Guard URL').fill(failing.url);
    await panel.getByRole('button', { name: 'Start release' }).click();
    await confirmDialog(page, 'risky change', { expect: /goes back to 2%/ });
    const status = panel.locator('.release-status');
    await until('the panel shows it rolled back', async () => /rolled back/.test(await status.innerText()), 15_000);
    assert.equal((await panel.locator('.last-check .outcome').innerText()).toLowerCase(), 'fail');
    assert.match(await panel.locator('.last-check .detail').innerText(), /answered 500 Internal Server Error.*database down/);
    assert.match(await panel.locator('.release-message').innerText(), /the guard failed: .*set back to 2%/);
    await until('the page shows the flag at 2%', async () => (await page.getByLabel('Rollout percentage').inputValue()) === '2');
    assert.equal((await getFlag('doomed_release')).percentage, 2);
  } finally {
    await failing.close();
  }
});

test('schedule a change a few seconds ahead and see it applied; cancel another', async () => {
  await page.goto(`${BASE}/#/e/${ENV}/f/release_demo`);
  const panel = page.locator('section.schedules-panel');
  await panel.getByText('No change scheduled.').waitFor();
  await unfold(panel, 'Schedule a change');
  // The time is typed in the browser's time zone and sent as UTC.
  const soon = await page.evaluate(() => {
    const d = new Date(Date.now() + 3000);
    const p = (n) => String(n).padStart(2, '0');
    // As the browser writes it back: whole minutes without `:00` (playwright's fill checks).
    const seconds = d.getSeconds() === 0 ? '' : `:${p(d.getSeconds())}`;
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}${seconds}`;
  });
  await panel.getByLabel('When').fill(soon);
  await panel.getByLabel('Change', { exact: true }).selectOption('disable');
  await panel.getByRole('button', { name: 'Schedule', exact: true }).click();
  await confirmDialog(page, 'quiet night', { expect: /will disable/ });
  const applied = panel.locator('li.schedule[data-status="applied"]');
  await until('the change is applied', async () => (await applied.count()) === 1 && /applied as v\d+/.test(await applied.innerText()), 15_000);
  assert.match(await applied.innerText(), /disable[\s\S]*Reason: quiet night/);
  await until('the switch turns off', async () => !(await page.getByRole('switch', { name: 'release_demo enabled' }).isChecked()));
  const audit = await apiCall('GET', `/environments/${ENV}/audit?flag=release_demo`);
  assert.match(audit.body.entries[0].reason, /^quiet night \(scheduled change sch_[0-9a-f]+\)$/);
  assert.equal(audit.body.entries[0].actor, 'admin');

  // Another one, an hour ahead (the form's default time), cancelled before it applies.
  await panel.getByLabel('Change', { exact: true }).selectOption('percentage');
  await panel.getByLabel('Percentage', { exact: true }).fill('50');
  await panel.getByRole('button', { name: 'Schedule', exact: true }).click();
  await confirmDialog(page, 'half', { expect: /set the percentage to 50%/ });
  const pending = panel.locator('li.schedule[data-status="pending"]');
  await pending.waitFor();
  assert.match(await pending.innerText(), /set the percentage to 50%\s*in (\d+ minutes|1 hour)/);
  assert.equal(await panel.locator('li.schedule').first().getAttribute('data-status'), 'pending', 'pending ones first');
  await pending.getByRole('button', { name: /Cancel the change/ }).click();
  await confirmDialog(page, '', { expect: /Cancel this scheduled change/ });
  await pending.waitFor({ state: 'detached' });
  const left = (await apiCall('GET', `/environments/${ENV}/flags/release_demo/schedule`)).body.schedules;
  assert.deepEqual(left.map((c) => c.status), ['applied']);
  assert.equal((await getFlag('release_demo')).percentage, 100, 'the cancelled change was not applied');
});

test('every control of the main pages has a label', async () => {
  for (const hash of [`#/e/${ENV}`, `#/e/${ENV}/f/${KEY}`, `#/e/${ENV}/new`, `#/e/${ENV}/keys`, `#/e/${ENV}/audit`]) {
    await page.goto(`${BASE}/${hash}`);
    await page.locator('main h1').waitFor();
    assert.deepEqual(await unlabelledControls(page), [], hash);
  }
});

test('at a phone\'s 390×844 the pages fit the screen', async () => {
  const phone = await newPage({ width: 390, height: 844 });
  await signIn(phone);
  for (const [hash, name] of [[`#/e/${ENV}`, 'flags'], [`#/e/${ENV}/f/${KEY}`, 'flag'], [`#/e/${ENV}/keys`, 'sdk-keys'], [`#/e/${ENV}/audit`, 'history']]) {
    await phone.goto(`${BASE}/${hash}`);
    await phone.locator('main h1').waitFor();
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${hash} is ${width}px wide`);
    await shot(phone, name);
  }
  await phone.goto(`${BASE}/`);
  await phone.evaluate(() => sessionStorage.clear());
  await phone.reload();
  await phone.getByLabel('Admin token').waitFor();
  await shot(phone, 'signin');
  await phone.context().close();
});

test('sign out forgets the token', async () => {
  await page.goto(`${BASE}/#/e/${ENV}`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Admin token').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('flag-console.token')), null);
});

test('no request left the server\'s origin, and the pages raised no error', () => {
  assert.ok(requests.length > 20, `${requests.length} requests recorded`);
  const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== ORIGIN);
  assert.deepEqual(foreign, []);
  assert.ok(!requests.some((u) => /[?&]token=/.test(u) || u.includes(TOKEN)), 'the token never went into a URL');
  assert.deepEqual(pageErrors.filter((e) => !/status of (4\d\d)/.test(e)), []);
});
