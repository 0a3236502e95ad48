/**
 * Drives the lab (lab/) in headless Chromium with WebGPU on SwiftShader, for tests/lab.test.ts
 * and bench/lab.ts: serves the built page with `glassbox lab`'s own server (src/cli/lab.ts),
 * launches Chromium as tests/browser.test.ts does, draws with mouse events and reads what the
 * page shows from `window.__lab`. Every console error and page error is collected in `errors`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ensureLabBuilt, serveLab } from '../../src/cli/lab.ts';
import type { LabView } from '../../lab/src/app.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/** The flags that give headless Chromium WebGPU on SwiftShader (see /work/shared/ENVIRONMENT.md). */
export const WEBGPU_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * How long one update of the page may take. SwiftShader compiles every new WGSL pipeline with LLVM,
 * so the first map of each method costs seconds on an idle 2-core machine (and minutes when the
 * machine is shared with a dozen other jobs); later maps of the same method take ~0.1 s.
 */
export const SETTLE_MS = 240_000;

export class LabSession {
  readonly errors: string[] = [];
  readonly log: string[] = [];
  private readonly used = new Set<Page>();
  private constructor(
    readonly url: string,
    private readonly server: Server,
    readonly context: BrowserContext,
    private readonly userDataDir: string,
  ) {}

  /** Builds the lab if stale, serves it on a free port and launches Chromium. */
  static async start(): Promise<LabSession> {
    const dir = await ensureLabBuilt();
    const { url, server } = await serveLab(dir);
    const userDataDir = await mkdtemp(join(tmpdir(), 'glassbox-lab-chromium-'));
    // Playwright owns --user-data-dir (a fresh temp dir here) and refuses it in args
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, timeout: 30_000, viewport: null, args: [...WEBGPU_ARGS, '--window-size=1280,900'] });
    return new LabSession(url, server, context, userDataDir);
  }

  /** A new tab on the lab (optionally with a URL hash, or with navigator.gpu removed), its errors collected. */
  async open(opts: { hash?: string; withoutWebGpu?: boolean; waitReady?: boolean } = {}): Promise<Page> {
    // the context's first tab, while unused: a new tab may open behind it, where timers are throttled
    const first = this.context.pages()[0];
    const page = first && first.url() === 'about:blank' && !this.used.has(first) ? first : await this.context.newPage();
    this.used.add(page);
    page.on('console', (m) => {
      this.log.push(`console.${m.type()}: ${m.text()}`);
      if (m.type() === 'error') this.errors.push(m.text());
    });
    page.on('pageerror', (e) => this.errors.push(`pageerror: ${e.message}`));
    if (opts.withoutWebGpu) await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
    await page.goto(this.url + (opts.hash ? `#${opts.hash}` : ''), { waitUntil: 'load', timeout: 20_000 });
    if (opts.waitReady ?? !opts.withoutWebGpu) await this.idle(page, 0);
    return page;
  }

  /** Waits until the page has finished at least `after + 1` updates and has nothing queued; returns its view. */
  async idle(page: Page, after = -1, timeout = SETTLE_MS): Promise<LabView> {
    try {
      await page.waitForFunction((n) => !!window.__lab && window.__lab.ready && !window.__lab.busy && window.__lab.updates > n, after, { timeout, polling: 50 });
    } catch (e) {
      const error = await page.evaluate(() => window.__lab?.error ?? document.getElementById('error')?.textContent ?? null).catch(() => null);
      throw new Error(`the lab did not settle in ${timeout / 1000} s (${(e as Error).message.split('\n')[0]}); page error: ${error}; log:\n${this.log.slice(-20).join('\n')}`);
    }
    return this.view(page);
  }

  view(page: Page): Promise<LabView> {
    return page.evaluate(() => window.__lab!);
  }

  /** Draws a polyline on the pad with the mouse; points in [0, 1] of the pad's box. */
  async stroke(page: Page, points: ReadonlyArray<readonly [number, number]>): Promise<void> {
    // mouse coordinates are the viewport's: bring the pad back into view where a check scrolled down to a later section
    await page.locator('#pad').scrollIntoViewIfNeeded();
    const box = (await page.locator('#pad').boundingBox())!;
    const at = ([x, y]: readonly [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
    await page.mouse.move(...at(points[0]!));
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 6 });
    await page.mouse.up();
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
    this.server.closeAllConnections();
    await new Promise<void>((res) => this.server.close(() => res()));
    await rm(this.userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** A handwritten-looking 7: a top bar, then a slanted down stroke. */
export const SEVEN: ReadonlyArray<readonly [number, number]> = [
  [0.25, 0.22],
  [0.72, 0.2],
  [0.6, 0.45],
  [0.45, 0.8],
];
