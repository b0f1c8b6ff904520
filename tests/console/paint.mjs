// Benchmark: how soon the console paints, against a baseline measured in the same run.
// bench/console.sh starts a release flag-server with 100 flags and runs this. In a fresh
// browser context each time (an empty cache, as a first visit), it loads
//   - the BASELINE: GET /healthz, a few bytes of text the browser paints at once;
//   - the sign-in page (/), until its first contentful paint;
//   - signed in, the flag list of 100 flags, until every row is on screen.
// Prints the median and p90 of each over RUNS loads, and the ratios to the baseline.

import { chromium } from 'playwright-core';

const BASE = process.env.FLAG_CONSOLE_URL;
const TOKEN = process.env.FLAG_CONSOLE_TOKEN;
const RUNS = Number(process.env.RUNS || 25);
const FLAGS = Number(process.env.FLAGS || 100);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

const fcp = (page) => page.evaluate(() => new Promise((resolve) => {
  const done = () => resolve(performance.getEntriesByName('first-contentful-paint')[0].startTime);
  if (performance.getEntriesByName('first-contentful-paint').length) done();
  else new PerformanceObserver(done).observe({ type: 'paint', buffered: true });
}));

async function measure(kind) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (kind === 'list') {
    // The moment the last row is in the page, seen by a MutationObserver (polling from the
    // test would add its own delay).
    await context.addInitScript(([t, n]) => {
      sessionStorage.setItem('flag-console.token', t);
      new MutationObserver(() => {
        if (!window.listDone && document.querySelectorAll('table.flags tbody tr[data-key]').length === n) {
          window.listDone = performance.now();
        }
      }).observe(document, { childList: true, subtree: true });
    }, [TOKEN, FLAGS]);
  }
  const page = await context.newPage();
  let ms;
  if (kind === 'baseline') {
    await page.goto(`${BASE}/healthz`);
    ms = await fcp(page);
  } else if (kind === 'signin') {
    await page.goto(`${BASE}/`);
    ms = await fcp(page);
  } else {
    await page.goto(`${BASE}/#/e/production`);
    await page.waitForFunction(() => window.listDone);
    ms = await page.evaluate(() => window.listDone);
  }
  await context.close();
  return ms;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.floor(s.length * 0.9)] };
};
const results = { baseline: [], signin: [], list: [] };
for (let i = 0; i < RUNS; i += 1) {
  for (const kind of Object.keys(results)) {
    // Interleaved, so that a slow moment of a shared machine hits every kind alike.
    results[kind].push(await measure(kind)); // eslint-disable-line no-await-in-loop
  }
}
await browser.close();
const base = stats(results.baseline);
console.log(`runs: ${RUNS}, flags: ${FLAGS}`);
for (const [kind, label] of [['baseline', 'baseline: /healthz first paint'], ['signin', 'console: first paint (sign-in page)'], ['list', `console: flag list of ${FLAGS} rendered`]]) {
  const s = stats(results[kind]);
  const ratio = kind === 'baseline' ? '' : `  (${(s.median / base.median).toFixed(2)}x baseline)`;
  console.log(`${label.padEnd(42)} median ${s.median.toFixed(0).padStart(4)} ms   p90 ${s.p90.toFixed(0).padStart(4)} ms${ratio}`);
}
