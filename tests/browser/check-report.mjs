// Opens an HTML report in headless Chromium (Debian's package, driven by playwright-core),
// records anything that went wrong while loading it, measures its charts and takes a
// full-page screenshot. Prints one JSON object for the Rust test to assert on.
// Usage: PLAYWRIGHT_DIR=DIR node check-report.mjs REPORT.html SCREENSHOT.png
// (DIR: where playwright-core was installed with npm --prefix).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const { chromium } = createRequire(pathToFileURL(`${process.env.PLAYWRIGHT_DIR}/`).href)('playwright-core');

const [report, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // No sandbox as root; no background traffic, which a closed network refuses noisily.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const problems = [];
page.on('console', (m) => {
  if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
// The report is one self-contained file: anything else it asks for is a fault.
page.on('request', (r) => {
  if (r.url() !== pathToFileURL(report).href) problems.push(`fetched: ${r.url()}`);
});
await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
const facts = await page.evaluate(() => {
  const drawn = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const svgs = [...document.querySelectorAll('svg')];
  return {
    title: document.title,
    sections: [...document.querySelectorAll('section')].map((s) => s.id),
    charts: svgs.length,
    charts_drawn: svgs.filter(drawn).length,
    category_charts: document.querySelectorAll('#categories svg').length,
    overall_bar_widths: [...document.querySelectorAll('#overall svg rect.bar')].map((r) => r.getBBox().width),
    bars_drawn: [...document.querySelectorAll('svg rect.bar')].filter(drawn).length,
    trend_lines: document.querySelectorAll('#trends svg polyline.trend').length,
    regression_marks: document.querySelectorAll('#trends svg .regression').length,
    failed_cells: document.querySelectorAll('td.failed').length,
    tables: document.querySelectorAll('table').length,
  };
});
await page.screenshot({ path: screenshot, fullPage: true });
await browser.close();
console.log(JSON.stringify({ problems, ...facts }));
