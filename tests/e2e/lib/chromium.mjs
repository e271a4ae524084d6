// Launch Debian's Chromium through playwright-core (which never downloads a
// browser). Why each flag: docs/TESTING.md, section 2. playwright gives each
// launch a fresh, temporary --user-data-dir and removes it on close.
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

export async function launch({ extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Our own --headless=new is in args; keep playwright from adding its own
    // headless switch on top.
    headless: false,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 30_000,
  });
}

// Open a page and mirror its console and errors into `log` (an array of
// lines) so a failing test can print what the page said.
export async function openPage(browser, url, log = []) {
  const context = await browser.newContext({
    viewport: { width: 1024, height: 768 },
    locale: 'en-US',
  });
  const page = await context.newPage();
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) log.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`); });
  page.on('requestfailed', (r) => log.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  return { context, page, log };
}
