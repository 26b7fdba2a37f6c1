import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where the browser suite writes a screenshot of each step (gitignored). */
export const SCREENSHOT_DIR = path.resolve('test-results/web');

/**
 * The binary CHROMIUM_PATH names when it is set, else Debian's Chromium (`apt-get install
 * chromium`). Never a downloaded one.
 */
export function findChromium(): string | undefined {
  const candidates = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((candidate) => existsSync(candidate));
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    // no sandbox as root in CI; no background traffic: the machine's network is closed
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A page that records every console error and uncaught exception, so the suite can fail on any.
 * `expected` lets a step declare the one network error it provokes on purpose (a 400 it checks).
 */
export class WatchedPage {
  readonly errors: string[] = [];
  private expected: RegExp[] = [];

  private constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = `${message.text()} (${message.location().url})`;
      const allowed = this.expected.findIndex((pattern) => pattern.test(text));
      if (allowed >= 0) this.expected.splice(allowed, 1);
      else this.errors.push(text);
    });
    page.on('pageerror', (error) => this.errors.push(`uncaught: ${error.message}`));
  }

  static async open(context: BrowserContext, name: string, url: string): Promise<WatchedPage> {
    const watched = new WatchedPage(await context.newPage(), name);
    await watched.page.goto(url);
    return watched;
  }

  /** The next console error matching `pattern` is an expected one (consumed once). */
  expectConsoleError(pattern: RegExp): void {
    this.expected.push(pattern);
  }

  async screenshot(step: string): Promise<void> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await this.page.screenshot({ path: path.join(SCREENSHOT_DIR, `${step}-${this.name}.png`) });
  }
}
