// Headless Chromium for the console tests: Debian's chromium (CI installs it with apt-get), driven by
// playwright-core, which downloads no browser of its own. A fresh profile every launch; the flags keep
// Chromium from calling home (this machine's closed network refuses those connections).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { trackLeftover } from './leftovers';

export const CHROMIUM = process.env.HUNZE_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'hunze-chromium-'));
  const launching = chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 860 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    // A loaded machine can take longer than Playwright's default 30 s to start Chromium.
    timeout: 90_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // On record before the launch is awaited: a hook that times out meanwhile still gets Chromium closed.
  const close = trackLeftover('chromium', async () => {
    const context = await launching.catch(() => undefined);
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const context = await launching.catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return { context, close };
}
