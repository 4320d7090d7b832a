// The dashboard in Debian's Chromium against a real API, worker and PostgreSQL: what an
// operator does all day, checked the way they would see it.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDags } from '../../bench/dag-list.js';
import { createApiToken } from '../../server/src/tokens.js';
import { exampleDags, ensureDashboardBuilt, launchChromium, openPage, screenshot, seedMappedRun, startDashboard, type Dashboard } from './browser.js';

const GATES = path.join(process.env.UPDRAFT_TEST_SCRATCH ?? '/tmp', 'web-gates');

const TEST_DAGS = {
  ...exampleDags('hello_world'),
  // Fails until its gate file exists: a clear from the dashboard makes it succeed.
  'flaky.ts': `import fs from 'node:fs';
import { context, dag, task } from '@updraft/sdk';
const flaky = task('flaky', () => {
  if (!fs.existsSync(${JSON.stringify(path.join(GATES, 'flaky'))})) throw new Error('the gate is closed');
  context().log.info('the gate is open');
});
export default dag({ id: 'flaky', tags: ['test'] }, () => { flaky(); });
`,
  // Params with bounds, for the trigger form.
  'sized.ts': `import { z } from 'zod';
import { dag, task } from '@updraft/sdk';
const Params = z.object({ count: z.number().int().min(1).max(50), label: z.string().default('x') });
const noop = task('noop', () => 1);
export default dag({ id: 'sized', params: Params, tags: ['test'] }, () => { noop(); });
`,
  // A long log, for "load earlier".
  'chatty.ts': `import { context, dag, task } from '@updraft/sdk';
const chatty = task('chatty', () => { for (let i = 0; i < 3500; i++) context().log.info('line ' + i); });
export default dag({ id: 'chatty', tags: ['test'] }, () => { chatty(); });
`,
  // A mapped task whose runs the tests write straight to the database.
  'wide.ts': `import { dag, task } from '@updraft/sdk';
const items = task('items', () => [1, 2, 3]);
const echo = task('echo', (n: number) => n);
const total = task('total', (xs: number[]) => xs.length);
export default dag({ id: 'wide', tags: ['test'] }, () => { total(echo.map(items())); });
`,
};

describe('the dashboard in Chromium', () => {
  let browser: Browser;
  let dashboard: Dashboard;

  beforeAll(async () => {
    ensureDashboardBuilt();
    browser = await launchChromium();
    await fs.mkdir(GATES, { recursive: true });
    dashboard = await startDashboard(TEST_DAGS);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  async function open(url: string, viewport?: { width: number; height: number }): Promise<{ page: Page; problems: string[] }> {
    const opened = await openPage(browser, viewport);
    await opened.page.goto(`${dashboard.origin}${url}`);
    return opened;
  }

  it('lists the DAGs; triggering hello_world from the UI turns its grid green, live', async () => {
    const { page, problems } = await open('/');
    await page.getByRole('link', { name: 'hello_world' }).waitFor();
    expect(await page.locator('tr[data-dag]').count()).toBe(5);
    await screenshot(page, 'dag-list');
    await page.getByRole('link', { name: 'hello_world' }).click();
    await page.getByRole('tab', { name: 'Trigger' }).click();
    await page.getByRole('form', { name: 'Trigger hello_world' }).waitFor();
    await page.getByRole('button', { name: 'Trigger', exact: true }).click();
    // Back on the grid, the run's cells go green without a reload.
    await page.locator('[data-testid=grid] a[data-task="say_hi"][data-state="success"]').waitFor({ timeout: 30_000 });
    for (const task of ['make_hi', 'ready_hi', 'say_hi']) {
      expect(await page.locator(`[data-testid=grid] a[data-task="${task}"]`).getAttribute('data-state')).toBe('success');
    }
    await page.locator('[data-testid=grid] a.run-link[data-state="success"]').waitFor();
    await screenshot(page, 'grid');
    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.locator('svg g[data-task="say_hi"][data-state="success"]').waitFor();
    await screenshot(page, 'graph');
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a run triggered elsewhere (through the API) as a new grid column that turns green, and in the runs list', async () => {
    const { page, problems } = await open('/dag?id=hello_world');
    await page.locator('[data-testid=grid]').waitFor();
    const before = await page.locator('[data-testid=grid] a.run-link').count();
    const trigger = async () => {
      const response = await fetch(`${dashboard.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'mutation { triggerDagRun(input: { dagId: "hello_world" }) { dagRun { id } } }' }),
      });
      const body = (await response.json()) as { data: { triggerDagRun: { dagRun: { id: string } } } };
      return body.data.triggerDagRun.dagRun.id;
    };
    const runId = await trigger();
    // No reload, no click: the column arrives through dagRunsChanged, then follows the run to success.
    await page.locator(`[data-testid=grid] a.run-link[data-run="${runId}"]`).waitFor({ timeout: 15_000 });
    await page.locator(`[data-testid=grid] a[data-task="say_hi"][data-run="${runId}"][data-state="success"]`).waitFor({ timeout: 30_000 });
    await page.locator(`[data-testid=grid] a.run-link[data-run="${runId}"][data-state="success"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=grid] a.run-link').count()).toBe(before + 1);
    // The runs list too.
    await page.getByRole('tab', { name: 'Runs' }).click();
    const list = page.getByRole('region', { name: 'Runs' });
    await list.locator(`a[href="/run?id=${runId}"]`).waitFor();
    const next = await trigger();
    await list.locator(`a[href="/run?id=${next}"]`).waitFor({ timeout: 15_000 });
    expect(await dashboard.platform.waitForRun(Number(next))).toBe('success');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("opens say_hi's log, finds the hi line and searches it", async () => {
    const runId = await dashboard.platform.trigger('hello_world');
    expect(await dashboard.platform.waitForRun(runId)).toBe('success');
    const { page, problems } = await open(`/dag?id=hello_world`);
    await page.locator(`[data-testid=grid] a[data-task="say_hi"][data-run="${runId}"]`).click();
    await page.getByRole('heading', { name: 'say_hi' }).waitFor();
    const log = page.getByLabel('Log lines');
    await log.getByText('hi, ready to fly!').waitFor();
    await page.getByLabel('Search the log').fill('ready to fly');
    await expect.poll(() => log.locator('mark').count()).toBe(1);
    expect(await log.locator('mark').textContent()).toBe('ready to fly');
    await page.getByLabel('Search the log').fill('no such text');
    await log.getByText('No line matches').waitFor();
    await page.getByLabel('Search the log').fill('');
    await screenshot(page, 'logs');
    // ready_hi's return value is an XCom.
    await page.goto(`${dashboard.origin}/task?run=${runId}&task=ready_hi&map=-1`);
    const xcom = page.getByRole('region', { name: 'XCom' });
    await xcom.getByText('return_value').waitFor();
    expect(await xcom.locator('pre').textContent()).toBe('"hi, ready to fly!"');
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows the last 1,000 lines of a 3,500-line log and pages back to the first with "load earlier"', async () => {
    const runId = await dashboard.platform.trigger('chatty');
    expect(await dashboard.platform.waitForRun(runId)).toBe('success');
    const { page, problems } = await open(`/task?run=${runId}&task=chatty&map=-1`);
    const log = page.getByLabel('Log lines');
    const line = (n: number) => log.locator('.message').getByText(`line ${n}`, { exact: true });
    await line(3499).waitFor();
    const messages = () => log.locator('.message').allTextContents();
    expect((await messages()).length).toBe(1000);
    expect(await line(2499).count()).toBe(0);
    const earlier = log.getByRole('button', { name: /Load earlier lines/ });
    for (const first of [1500, 500, 0]) {
      await earlier.click();
      await line(first).waitFor();
      // What was in view stays in view: the reader is not thrown to either end.
      expect(await log.evaluate((el) => el.scrollTop > 0 && el.scrollTop + el.clientHeight < el.scrollHeight)).toBe(true);
    }
    expect(await earlier.count()).toBe(0);
    expect(await messages()).toEqual(Array.from({ length: 3500 }, (_, i) => `line ${i}`));
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('clears a failed task with confirmation and sees it run again, to success', async () => {
    const runId = await dashboard.platform.trigger('flaky');
    expect(await dashboard.platform.waitForRun(runId)).toBe('failed');
    const { page, problems } = await open(`/task?run=${runId}&task=flaky&map=-1`);
    await page.locator('.try-error', { hasText: 'the gate is closed' }).waitFor();
    await fs.writeFile(path.join(GATES, 'flaky'), '');
    await page.getByRole('button', { name: 'Clear' }).click();
    const dialog = page.getByRole('dialog', { name: 'Clear flaky?' });
    await dialog.getByLabel('only failed ones').check();
    await dialog.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('heading', { name: 'flaky' }).locator('..').locator('.badge[data-state="success"]').waitFor({ timeout: 30_000 });
    await page.getByText('Try 2').waitFor();
    await page.getByLabel('Log lines').getByText('the gate is open').waitFor();
    expect(await dashboard.platform.waitForRun(runId)).toBe('success');
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('pauses a DAG from the list', async () => {
    const { page } = await open('/');
    const toggle = page.getByLabel('Pause flaky');
    await toggle.click();
    await page.getByLabel('Unpause flaky').waitFor();
    const dag = await dashboard.platform.db.prisma.dag.findUniqueOrThrow({ where: { id: 'flaky' } });
    expect(dag.paused).toBe(true);
    await page.close();
  }, 30_000);

  it('searches, filters by tag and pages the DAG list on the server', async () => {
    await seedDags(dashboard.platform.pool, 'hello_world', { count: 155, runsEach: 1 });
    try {
      const { page, problems } = await open('/');
      const rows = page.locator('tr[data-dag]');
      await page.getByText('The first 100 DAGs by id').waitFor();
      expect(await rows.count()).toBe(100);
      await page.getByRole('button', { name: 'Show 100 more' }).click();
      await page.getByText('155 DAGs').waitFor();
      expect(await rows.count()).toBe(155);
      // A deploy adds a DAG to the first page, live.
      await fs.writeFile(path.join(dashboard.dagsDir, 'added.ts'), `import { dag, task } from '@updraft/sdk';\nexport default dag({ id: 'added' }, () => { task('t', () => 1)(); });\n`);
      await dashboard.platform.deploy(dashboard.dagsDir);
      await page.locator('tr[data-dag="added"]').waitFor({ timeout: 15_000 });
      await page.getByLabel('Search').fill('HELLO_W');
      await page.getByText('1 DAG', { exact: true }).waitFor();
      expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-dag')))).toEqual(['hello_world']);
      await page.getByLabel('Search').fill('');
      await page.getByText('155 DAGs').waitFor(); // both pages, from the cache
      await page.getByRole('group', { name: /Filter by tag/ }).getByRole('button', { name: 'test' }).click();
      await page.getByText('4 DAGs').waitFor();
      expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-dag')))).toEqual(['chatty', 'flaky', 'sized', 'wide']);
      await page.getByLabel('Search').fill('no such dag');
      await page.getByText('No DAG matches these filters').waitFor();
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await dashboard.platform.pool.query(`DELETE FROM dag WHERE id LIKE 'bench\\_listed\\_%'`);
      await fs.rm(path.join(dashboard.dagsDir, 'added.ts'), { force: true });
      await dashboard.platform.deploy(dashboard.dagsDir);
    }
  }, 60_000);

  it('builds the trigger form from the params schema and rejects invalid params', async () => {
    const { page } = await open('/dag?id=sized&tab=trigger');
    const form = page.getByRole('form', { name: 'Trigger sized' });
    await form.getByLabel(/count/).fill('abc');
    await form.getByRole('button', { name: 'Trigger' }).click();
    await form.getByText('Must be a number, not “abc”').waitFor();
    await form.getByLabel(/count/).fill('500');
    await form.getByRole('button', { name: 'Trigger' }).click();
    await form.getByText('Must be at most 50').waitFor();
    await form.getByLabel(/count/).fill('');
    await form.getByRole('button', { name: 'Trigger' }).click();
    await form.getByText('Required').waitFor();
    await screenshot(page, 'trigger-form');
    expect(await dashboard.platform.db.prisma.dagRun.count({ where: { dagId: 'sized' } })).toBe(0);
    // A valid one is accepted and lands on the grid.
    await form.getByLabel(/count/).fill('3');
    await form.getByRole('button', { name: 'Trigger' }).click();
    await page.locator('[data-testid=grid]').waitFor();
    const runs = await dashboard.platform.db.prisma.dagRun.findMany({ where: { dagId: 'sized' } });
    expect(runs.map((r) => r.conf)).toEqual([{ count: 3, label: 'x' }]);
    await page.close();
  }, 30_000);

  it('renders only the visible rows of a 3,000-instance run, and more as it scrolls', async () => {
    const runId = await seedMappedRun(dashboard.platform, 'wide', 'echo', 3_000);
    const { page } = await open(`/run?id=${runId}`);
    const rows = page.locator('[data-testid=ti-list] .ti-row');
    await rows.first().waitFor();
    const visible = await rows.count();
    expect(visible).toBeGreaterThan(10);
    expect(visible).toBeLessThan(60);
    // Scroll to the end: pages load as it goes, and the DOM still holds only what is in view.
    for (let i = 0; i < 20; i++) {
      await page.locator('[data-testid=ti-list]').evaluate((el) => (el.scrollTop = el.scrollHeight));
      await page.waitForTimeout(150);
      if ((await page.locator('[data-testid=ti-list] .ti-row[data-map="2999"]').count()) > 0) break;
    }
    await page.locator('[data-testid=ti-list] .ti-row[data-map="2999"]').waitFor();
    expect(await rows.count()).toBeLessThan(60);
    // The grid shows the mapped task as one row counting its states, unfolded per state.
    await page.goto(`${dashboard.origin}/dag?id=wide`);
    const cell = page.locator(`[data-testid=grid] a[data-task="echo"][data-run="${runId}"]`);
    await cell.waitFor();
    expect(await cell.getAttribute('aria-label')).toBe(`echo in run ${(await dashboard.platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } })).runId}: 2969 success, 31 failed`);
    await page.close();
  }, 60_000);

  it('unfolds a mapped task of 10,000 instances into one grid row per instance, drawing only those in view, each linking to its instance', async () => {
    // Seeded: item i at map index i, every 97th failed.
    const runId = await seedMappedRun(dashboard.platform, 'wide', 'echo', 10_000);
    const { page, problems } = await open('/dag?id=wide');
    const grid = page.locator('[data-testid=grid]');
    await grid.locator(`a[data-task="echo"][data-run="${runId}"]`).waitFor();
    await page.getByRole('button', { name: 'Unfold the instances of mapped task echo' }).click();
    const instance = (i: number) => grid.locator(`a[data-task="echo"][data-map="${i}"][data-run="${runId}"]`);
    await instance(1).waitFor();
    expect(await grid.getAttribute('aria-rowcount')).toBe(String(3 + 10_000));
    expect([await instance(0).getAttribute('data-state'), await instance(1).getAttribute('data-state')]).toEqual(['failed', 'success']);
    expect(await page.locator('[data-line="task:echo[5]"] [role=rowheader]').textContent()).toBe('[5] 5');
    expect(await page.locator('.grid-line').count()).toBeLessThan(80);
    await screenshot(page, 'grid-mapped');
    // To the end: the last rows are read and drawn, and still only those in view are in the page.
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await instance(9_999).waitFor();
    expect([await instance(9_991).getAttribute('data-state'), await instance(9_999).getAttribute('data-state')]).toEqual(['failed', 'success']);
    expect(await page.locator('.grid-line').count()).toBeLessThan(80);
    await instance(9_999).click();
    await page.getByRole('heading', { name: 'echo [9999]' }).waitFor();
    expect(new URL(page.url()).search).toBe(`?run=${runId}&task=echo&map=9999`);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('moves across the grid with the arrow keys, shows the focus, and opens a cell with Enter', async () => {
    for (let i = 0; i < 2; i++) expect(await dashboard.platform.waitForRun(await dashboard.platform.trigger('hello_world'))).toBe('success');
    const { page, problems } = await open('/dag?id=hello_world');
    const grid = page.locator('[data-testid=grid]');
    await grid.locator('a.cell-link').first().waitFor();
    const runs = await grid.locator('a.run-link').evaluateAll((links) => links.map((a) => a.getAttribute('data-run')));
    const newest = runs.at(-1)!;
    const previous = runs.at(-2)!;
    // One tab stop for the whole grid: Tab from the Runs selector lands on a cell.
    await page.getByLabel('Runs to show').focus();
    await page.keyboard.press('Tab');
    const focused = () =>
      page.evaluate(() => {
        const cell = document.activeElement?.closest('[role=gridcell]');
        const link = cell?.querySelector('a');
        return cell ? { task: link?.getAttribute('data-task') ?? null, run: link?.getAttribute('data-run') ?? null, outline: getComputedStyle(cell).outlineStyle } : null;
      });
    // Start: the first task (make_hi) in the newest run, with a visible outline.
    expect(await focused()).toEqual({ task: 'make_hi', run: newest, outline: 'solid' });
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toMatchObject({ task: 'ready_hi', run: newest });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown'); // past the last task: stays
    expect(await focused()).toMatchObject({ task: 'say_hi', run: newest });
    await page.keyboard.press('ArrowLeft');
    expect(await focused()).toMatchObject({ task: 'say_hi', run: previous, outline: 'solid' });
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight'); // past the newest run: stays
    expect(await focused()).toMatchObject({ task: 'ready_hi', run: newest });
    // Above the first task: the run's header.
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await page.evaluate(() => document.activeElement?.querySelector('a')?.getAttribute('href'))).toBe(`/run?id=${newest}`);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await screenshot(page, 'grid-focus');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'ready_hi' }).waitFor();
    expect(new URL(page.url()).search).toBe(`?run=${newest}&task=ready_hi&map=-1`);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('works in a narrow window, in both themes, from the keyboard', async () => {
    const { page, problems } = await open('/dag?id=hello_world', { width: 390, height: 800 });
    await page.locator('[data-testid=grid]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // The theme switch changes the colours, and the choice is kept.
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const before = await background();
    const toDark = (await page.getByRole('button', { name: /Switch to the (dark|light) theme/ }).getAttribute('aria-label'))!;
    await page.getByRole('button', { name: toDark }).click();
    expect(await background()).not.toBe(before);
    await page.reload();
    await page.locator('[data-testid=grid]').waitFor();
    expect(await background()).not.toBe(before);
    // The keyboard reaches the skip link first, and the grid's cells are links in reading order.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);
});

describe('the dashboard on a server that requires tokens', () => {
  let browser: Browser;
  let dashboard: Dashboard;

  beforeAll(async () => {
    ensureDashboardBuilt();
    browser = await launchChromium();
    dashboard = await startDashboard(exampleDags('hello_world'), { auth: { open: false } });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it('asks for a token, refuses a wrong one, and shows a viewer no action buttons', async () => {
    const runId = await dashboard.platform.trigger('hello_world');
    expect(await dashboard.platform.waitForRun(runId)).toBe('success');
    const { token } = await createApiToken(dashboard.platform.db.prisma, { role: 'viewer', name: 'e2e viewer' }, 'test');
    const { page } = await openPage(browser);
    await page.goto(`${dashboard.origin}/`);
    await page.getByRole('heading', { name: 'Sign in with an API token' }).waitFor();
    await page.getByLabel('API token').fill('upd_wrong_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The server refused the token').waitFor();
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'hello_world' }).waitFor();
    expect(await page.getByLabel('Pause hello_world').isDisabled()).toBe(true);
    await page.goto(`${dashboard.origin}/dag?id=hello_world`);
    await page.locator('[data-testid=grid]').waitFor();
    expect(await page.getByRole('tab', { name: 'Trigger' }).count()).toBe(0);
    await page.goto(`${dashboard.origin}/task?run=${runId}&task=say_hi&map=-1`);
    await page.getByLabel('Log lines').getByText('hi, ready to fly!').waitFor();
    expect(await page.getByRole('button', { name: /Clear|Mark/ }).count()).toBe(0);
    await page.goto(`${dashboard.origin}/run?id=${runId}`);
    await page.locator('[data-testid=ti-list] .ti-row').first().waitFor();
    expect(await page.getByRole('group', { name: 'Run actions' }).count()).toBe(0);
    await page.close();
  }, 60_000);
});
