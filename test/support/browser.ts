/**
 * A real browser for dashboard tests and benchmarks: Debian's Chromium (`/usr/bin/chromium`,
 * installed by scripts/install-system-deps.sh) driven by playwright-core, headless. Playwright
 * never downloads a browser here. Screenshots go under test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or false when they can (for `describe(…, { skip })`). */
export function browserMissing(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `no browser: ${CHROMIUM} is missing (install it with: bash scripts/install-system-deps.sh chromium)`;
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** test-artifacts/NAME/ at the checkout's root, created. */
export function artifactsDir(name: string): string {
  const dir = join(ROOT, 'test-artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
