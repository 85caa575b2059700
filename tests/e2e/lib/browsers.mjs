// Starting the two real browsers with the unpacked extension, pointed at the fake Vinted.
//
// Both launchers return the same small interface:
//   name                      'chromium' | 'firefox'
//   navigate(url)             load a page in a tab (waits for the load)
//   extensionUrl(path)        the URL of one of the extension's pages
//   connectionState()         the connection status the extension shows ('connected', …)
//   screenshot(path, file)    open an extension page (e.g. 'popup.html') as a tab, save a PNG
//   pid                       the browser's main process id
//   close()                   stop the browser and everything it started (idempotent)
//
// Chromium is driven by playwright-core over CDP. Firefox ESR cannot be driven by Playwright
// (it needs Playwright's own patched build, which cannot be downloaded here), so it is started
// as a plain process with a prepared profile and driven over Marionette, the remote protocol
// every Firefox has built in (lib/marionette.mjs).

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { MarionetteClient } from './marionette.mjs';
import { trackGroup, untrackGroup } from './reaper.mjs';
import { CHROME_EXTENSION_ID, EXTENSION_DIR, FIREFOX_ADDON_ID, runOk, sleep, waitFor } from './util.mjs';
import { zipDirectory } from './zip.mjs';

export const CHROMIUM_BIN = process.env.STOFLOW_CHROMIUM_BIN || '/usr/bin/chromium';
export const FIREFOX_BIN = process.env.STOFLOW_FIREFOX_BIN || '/usr/bin/firefox-esr';

const CONNECTION_STATE_PATTERN = /^(Connected|Connecting|Not installed|Disconnected|Error)/i;

/**
 * @param {object} options
 * @param {string} options.profileDir  Chromium user data dir (the installer registered the host in it)
 * @param {object} options.fake        the fake Vinted handle
 * @param {object} options.env         environment for the browser (and so for the host it starts)
 * @param {string} [options.extensionDir]
 */
export async function launchChromium({ profileDir, fake, env, extensionDir = EXTENSION_DIR, viewport = { width: 1000, height: 700 } }) {
  const args = [
    '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps',
    `--proxy-server=127.0.0.1:${fake.proxyPort}`,
    `--ignore-certificate-errors-spki-list=${fake.spkiHash}`,
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
  ];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.unshift('--no-sandbox');
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args,
    env,
    viewport,
    timeout: 30_000,
    handleSIGINT: true,
    handleSIGTERM: true,
    handleSIGHUP: true,
  });
  const browserProcess = context.browser()?.process?.() ?? null;
  let closed = null;

  const serviceWorker = async () => {
    const found = context.serviceWorkers().find((sw) => sw.url().startsWith(`chrome-extension://${CHROME_EXTENSION_ID}/`));
    if (found) return found;
    return context.waitForEvent('serviceworker', {
      predicate: (sw) => sw.url().startsWith(`chrome-extension://${CHROME_EXTENSION_ID}/`),
      timeout: 15_000,
    });
  };
  // Fail early if the extension did not load (e.g. a flag Chromium no longer honours).
  try {
    await serviceWorker();
  } catch (error) {
    await context.close().catch(() => {});
    throw new Error(`the extension's service worker did not start in Chromium: ${error.message}`);
  }

  let page = null;
  const mainPage = async () => {
    if (page && !page.isClosed()) return page;
    page = context.pages()[0] ?? (await context.newPage());
    return page;
  };

  return {
    name: 'chromium',
    context,
    pid: browserProcess?.pid ?? null,
    extensionUrl: (path) => `chrome-extension://${CHROME_EXTENSION_ID}/${path}`,
    async navigate(url) {
      const p = await mainPage();
      await p.goto(url, { timeout: 20_000 });
      return p.url();
    },
    async connectionState() {
      const sw = await serviceWorker();
      const stored = await sw.evaluate(() => chrome.storage.local.get('connection'));
      return stored?.connection?.state ?? null;
    },
    async screenshot(path, file, { width = 420, height = 640 } = {}) {
      const p = await context.newPage();
      try {
        await p.setViewportSize({ width, height });
        await p.goto(`chrome-extension://${CHROME_EXTENSION_ID}/${path}`, { timeout: 20_000 });
        await sleep(800); // the popup renders the queues after two background round trips
        await p.screenshot({ path: file, fullPage: true });
      } finally {
        await p.close().catch(() => {});
      }
    },
    /** Runs a function in a fresh extension page (same privileges as the popup). */
    async inExtensionPage(fn, arg) {
      const p = await context.newPage();
      try {
        await p.goto(`chrome-extension://${CHROME_EXTENSION_ID}/popup.html`, { timeout: 20_000 });
        return await p.evaluate(fn, arg);
      } finally {
        await p.close().catch(() => {});
      }
    },
    close() {
      closed ??= (async () => {
        await Promise.race([context.close().catch(() => {}), sleep(10_000)]);
        if (browserProcess && browserProcess.exitCode === null) {
          try {
            browserProcess.kill('SIGKILL');
          } catch {
            // Already gone.
          }
        }
      })();
      return closed;
    },
  };
}

function firefoxPrefs({ fake, extensionUuid }) {
  return {
    // The unsigned, sideloaded extension (ESR honours this pref; release Firefox does not).
    'xpinstall.signatures.required': false,
    'extensions.autoDisableScopes': 0,
    'extensions.enabledScopes': 15,
    'extensions.webextensions.uuids': JSON.stringify({ [FIREFOX_ADDON_ID]: extensionUuid }),
    // Everything over the fake's CONNECT proxy, which only lets www.vinted.<tld>:443 through.
    'network.proxy.type': 1,
    'network.proxy.ssl': '127.0.0.1',
    'network.proxy.ssl_port': fake.proxyPort,
    'network.proxy.http': '127.0.0.1',
    'network.proxy.http_port': fake.proxyPort,
    'network.proxy.no_proxies_on': '',
    'network.proxy.allow_hijacking_localhost': false,
    // Marionette picks a free port and writes it to <profile>/MarionetteActivePort.
    'marionette.port': 0,
    // Quiet, deterministic start.
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'browser.startup.page': 0,
    'startup.homepage_welcome_url': '',
    'startup.homepage_welcome_url.additional': '',
    'browser.aboutwelcome.enabled': false,
    'trailhead.firstrun.didSeeAboutWelcome': true,
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'toolkit.telemetry.reportingpolicy.firstRun': false,
    'app.update.enabled': false,
    'app.normandy.enabled': false,
    'extensions.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'browser.newtabpage.enabled': false,
    'browser.tabs.warnOnClose': false,
    'browser.sessionstore.resume_from_crash': false,
  };
}

/**
 * Prepares a fresh Firefox profile: prefs in user.js, the extension packed as an unsigned XPI
 * named after its id in <profile>/extensions/ (a sideload, as a seller's "Install Add-on From
 * File" would give), and the fake's test CA in the profile's own NSS database.
 */
export async function prepareFirefoxProfile({ profileDir, fake, extensionDir = EXTENSION_DIR }) {
  const extensionUuid = randomUUID();
  mkdirSync(join(profileDir, 'extensions'), { recursive: true });
  zipDirectory(extensionDir, join(profileDir, 'extensions', `${FIREFOX_ADDON_ID}.xpi`));
  const prefs = firefoxPrefs({ fake, extensionUuid });
  writeFileSync(join(profileDir, 'user.js'),
    Object.entries(prefs).map(([key, value]) => `user_pref(${JSON.stringify(key)}, ${JSON.stringify(value)});\n`).join(''));
  await runOk('certutil', ['-N', '-d', `sql:${profileDir}`, '--empty-password']);
  await runOk('certutil', ['-A', '-d', `sql:${profileDir}`, '-n', 'StoFlow fake Vinted test CA', '-t', 'C,,', '-i', fake.caCertPath]);
  return { extensionUuid };
}

// Marionette wraps some answers in {value} and not others.
const unwrap = (answer) => (answer && typeof answer === 'object' && 'value' in answer ? answer.value : answer);
const handleList = (answer) => [unwrap(answer)].flat().filter(Boolean);

function killGroup(pid, signal = 'SIGKILL') {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

/**
 * @param {object} options
 * @param {string} options.profileDir  an empty directory
 * @param {object} options.fake
 * @param {object} options.env         environment (HOME points to the home the installer wrote to)
 * @param {string} options.logDir      where Firefox's stdout/stderr go
 */
export async function launchFirefox({ profileDir, fake, env, logDir, extensionDir = EXTENSION_DIR }) {
  const { extensionUuid } = await prepareFirefoxProfile({ profileDir, fake, extensionDir });
  const out = openSync(join(logDir, 'firefox.log'), 'a');
  // -remote-allow-system-access: Marionette may use the browser chrome (to open extension pages).
  const child = spawn(FIREFOX_BIN, ['--headless', '--no-remote', '--profile', profileDir, '--marionette', '-remote-allow-system-access', 'about:blank'], {
    env: { ...env, MOZ_CRASHREPORTER_DISABLE: '1', MOZ_HEADLESS: '1' },
    detached: true, // its own process group, so close() can kill it with every child
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  trackGroup(child.pid);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  let marionette = null;
  let mainHandle = null;
  let closed = null;

  const close = () => {
    closed ??= (async () => {
      marionette?.close();
      if (!exited) {
        killGroup(child.pid, 'SIGKILL');
        await waitFor(() => exited, { timeoutMs: 10_000, intervalMs: 50, what: 'Firefox to exit' }).catch(() => {});
      }
      killGroup(child.pid, 'SIGKILL'); // stragglers of the group
      untrackGroup(child.pid);
    })();
    return closed;
  };

  try {
    const portFile = join(profileDir, 'MarionetteActivePort');
    const port = await waitFor(() => {
      if (exited) throw new Error('Firefox exited during start-up');
      return existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) || 0 : 0;
    }, { timeoutMs: 30_000, intervalMs: 100, what: 'Firefox to open its Marionette port' });
    marionette = await MarionetteClient.connect({ port });
    await marionette.newSession({ pageLoadStrategy: 'normal', timeouts: { pageLoad: 20_000, script: 15_000 } });
    mainHandle = unwrap(await marionette.send('WebDriver:GetWindowHandle'));
  } catch (error) {
    let tail = '';
    try {
      tail = readFileSync(join(logDir, 'firefox.log'), 'utf8').slice(-2000);
    } catch {
      // No log.
    }
    await close();
    throw new Error(`Firefox did not start: ${error.message}\n${tail}`);
  }

  const extensionUrl = (path) => `moz-extension://${extensionUuid}/${path}`;

  /**
   * Opens an extension page in a new tab, runs `fn` with Marionette pointed at it, closes it.
   * Content may not navigate to moz-extension: URLs, so the tab is opened from the browser's
   * chrome (which is what `-remote-allow-system-access` allows).
   */
  const inExtensionTab = async (path, fn) => {
    const before = handleList(await marionette.send('WebDriver:GetWindowHandles'));
    await marionette.setContext('chrome');
    try {
      await marionette.execute(`
        const tab = gBrowser.addTab(arguments[0], { triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() });
        gBrowser.selectedTab = tab;`, [extensionUrl(path)]);
    } finally {
      await marionette.setContext('content');
    }
    const after = handleList(await marionette.send('WebDriver:GetWindowHandles'));
    const handle = after.find((h) => !before.includes(h));
    if (!handle) throw new Error(`no tab opened for ${path}`);
    await marionette.send('WebDriver:SwitchToWindow', { handle, focus: true });
    try {
      await waitFor(() => marionette.execute('return document.readyState === "complete" && location.href'),
        { timeoutMs: 10_000, intervalMs: 100, what: `${path} to load` });
      return await fn();
    } finally {
      await marionette.send('WebDriver:CloseWindow').catch(() => {});
      await marionette.send('WebDriver:SwitchToWindow', { handle: mainHandle, focus: true });
    }
  };

  return {
    name: 'firefox',
    marionette,
    pid: child.pid,
    extensionUrl,
    async navigate(url) {
      await marionette.navigate(url, { timeoutMs: 25_000 });
      return marionette.execute('return location.href');
    },
    /** What the popup shows as the connection state (Firefox keeps extension storage out of
     *  reach of automation, so read what the seller would read). */
    async connectionState() {
      const label = await inExtensionTab('popup.html', () => waitFor(async () => {
        const text = await marionette.execute('return document.getElementById("connection-label")?.textContent ?? ""');
        return CONNECTION_STATE_PATTERN.test(text) && !/^Connecting/i.test(text) ? text : null;
      }, { timeoutMs: 3_000, intervalMs: 100, what: 'the popup to show a connection state' }).catch(() => ''));
      if (/^Connected/i.test(label)) return 'connected';
      return label ? label.toLowerCase().replace(/ /g, '_') : null;
    },
    async screenshot(path, file) {
      await inExtensionTab(path, async () => {
        await sleep(800);
        writeFileSync(file, await marionette.screenshot());
      });
    },
    close,
  };
}
