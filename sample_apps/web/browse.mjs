// Open one page in Debian's headless Chromium (driven by playwright-core), wait until it says it is done, and
// print what the page computed as one JSON line. Used by the web sample's test and the HTML report's test.
//
//   node browse.mjs '{"url": "http://127.0.0.1:8000/", "until": "document.body.dataset.status",
//                     "evaluate": "window.edgexResults", "screenshot": "/tmp/page.png"}'
//
// `until` is a JS expression polled until truthy (a string such as "done" or "error" ends the wait);
// `evaluate` is a JS expression whose JSON value is returned. Nothing outside 127.0.0.1 is contacted.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {chromium} from 'playwright-core';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

const options = JSON.parse(process.argv[2]);
const profile = mkdtempSync(join(tmpdir(), 'edgex-chromium-'));
const consoleLines = [];
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executable || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: options.viewport || {width: 1280, height: 900},
    timeout: 60000,
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  await page.goto(options.url, {waitUntil: 'load', timeout: 60000});
  const state = options.until ?
      await (await page.waitForFunction(options.until, null, {timeout: options.timeout_ms || 120000})).jsonValue() :
      'loaded';
  const value = options.evaluate ? await page.evaluate(options.evaluate) : null;
  if (options.screenshot) await page.screenshot({path: options.screenshot, fullPage: true});
  process.stdout.write(JSON.stringify({state, value, console: consoleLines}) + '\n');
} catch (error) {
  process.stdout.write(JSON.stringify({state: 'driver-error', error: String(error), console: consoleLines}) + '\n');
  process.exitCode = 1;
} finally {
  if (context) await context.close();
  rmSync(profile, {recursive: true, force: true});
}
