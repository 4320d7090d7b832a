// The dashboard's end-to-end harness: the Updraft API and dashboard served on a test database
// (the same serveApi as `updraft start`), a worker, and Debian's Chromium driven by
// playwright-core. Nothing is downloaded: without /usr/bin/chromium the tests fail saying how
// to install it (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { seedMappedRun as seedRun } from '../../bench/web.js';
import type { AuthOptions } from '../../server/src/api/authentication.js';
import { serveApi } from '../../server/src/api/server.js';
import { LiveUpdates } from '../../server/src/live/live-updates.js';
import { createTestPlatform, dagFolder, REPO_ROOT, type TestPlatform } from '../support/platform.js';

export const CHROMIUM = process.env.UPDRAFT_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots go when UPDRAFT_SCREENSHOTS=1 (the README shows them). */
export const SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the dashboard's browser tests drive Debian's chromium package. ` +
        'Install it with `apt-get update && apt-get install -y chromium` (.ci/run does this), or set UPDRAFT_CHROMIUM to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Builds web/out unless it is current (scripts/build-web.mjs, as the postinstall does). */
export function ensureDashboardBuilt(): void {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-web.mjs')], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, UPDRAFT_SKIP_WEB_BUILD: '' } });
  if (result.status !== 0) throw new Error(`the dashboard did not build:\n${result.stdout}\n${result.stderr}`);
}

export interface Dashboard {
  platform: TestPlatform;
  /** http://127.0.0.1:PORT */
  origin: string;
  dagsDir: string;
  close(): Promise<void>;
}

/** The example DAG files the tests use, read from examples/dags. */
export function exampleDags(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [`${n}.ts`, fs.readFileSync(path.join(REPO_ROOT, 'examples', 'dags', `${n}.ts`), 'utf8')]));
}

/** The platform with `dags` deployed, a worker, and the API + dashboard on a free port. */
export async function startDashboard(dags: Record<string, string>, opts: { auth?: AuthOptions; worker?: boolean } = {}): Promise<Dashboard> {
  const platform = await createTestPlatform();
  const dagsDir = await dagFolder(dags);
  const { importErrors } = await platform.deploy(dagsDir);
  if (importErrors.length > 0) throw new Error(`test DAGs did not deploy:\n${importErrors.map((e) => e.message).join('\n')}`);
  if (opts.worker !== false) await platform.startWorker(4);
  const live = new LiveUpdates({ databaseUrl: platform.db.url, onWarning: () => undefined });
  const server: Server = await serveApi({ prisma: platform.db.prisma, pool: platform.pool, live }, { host: '127.0.0.1', port: 0, auth: { onWarning: () => undefined, ...opts.auth } });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    platform,
    origin,
    dagsDir,
    async close() {
      await live.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await platform.close();
    },
  };
}

/** A page that fails the test on any uncaught error or CSP violation it reports. */
export async function openPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDRAFT_SCREENSHOTS !== '1') return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** A finished run of `dagId` whose mapped task has `count` instances, written to the database (bench/web.ts). */
export function seedMappedRun(platform: TestPlatform, dagId: string, taskId: string, count: number): Promise<number> {
  return seedRun(platform.pool, dagId, taskId, count);
}
