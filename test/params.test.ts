// Params: a DAG declares its run parameters with a zod schema; a trigger whose conf does not
// match is refused before any run exists, defaults fill missing fields, tasks read params().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dagFolder, graphql, platformRunning, type TestPlatform } from './support/platform.js';

const DAGS = {
  'report.ts': `
import { z } from 'zod';
import { dag, params, task } from '@updraft/sdk';
const Params = z.object({ region: z.string(), days: z.number().int().min(1).default(7) });
const show = task('show', () => params<z.infer<typeof Params>>());
export default dag({ id: 'report', params: Params }, () => { show(); });
`,
};

describe('params', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await platformRunning(DAGS, 2);
  });
  afterAll(() => platform.close());

  it('fills defaults; tasks get the params, the run keeps its conf as given', async () => {
    const runId = await platform.trigger('report', { region: 'emea' });
    expect(await platform.waitForRun(runId)).toBe('success');
    expect((await platform.taskInstances(runId))[0]!.returnValue).toEqual({ region: 'emea', days: 7 });
    const run = await platform.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    expect([run.conf, run.params]).toEqual([{ region: 'emea' }, { region: 'emea', days: 7 }]);
  });

  it('refuses a conf that does not match, naming each field, and creates no run', async () => {
    const before = await platform.db.prisma.dagRun.count();
    const refused = async (conf: unknown, message: string) => {
      await expect(platform.trigger('report', conf)).rejects.toMatchObject({ message: `conf does not match the params of DAG "report": ${message}`, extensions: { code: 'BAD_USER_INPUT' } });
    };
    await refused({}, 'conf.region is required');
    await refused({ region: 5, days: 0 }, 'conf.days must be >= 1; conf.region must be string');
    await refused({ region: 'x', days: 1.5 }, 'conf.days must be integer');
    expect(await platform.db.prisma.dagRun.count()).toBe(before);
  });

  it('shows the params schema in the API, for trigger forms', async () => {
    const data = await graphql<{ dag: { paramsSchema: unknown } }>(platform, '{ dag(id: "report") { paramsSchema } }');
    expect(data.dag.paramsSchema).toMatchObject({ type: 'object', properties: { region: { type: 'string' }, days: { type: 'integer', default: 7, minimum: 1 } }, required: ['region'] });
  });

  it('refuses at deploy a params schema that does not describe an object', async () => {
    const bad = `import { z } from 'zod';\nimport { dag } from '@updraft/sdk';\nexport default dag({ id: 'bad_params', params: z.string() as never }, () => {});`;
    expect((await platform.deploy(await dagFolder({ 'bad_params.ts': bad }))).importErrors).toEqual([
      { fileName: 'bad_params.ts', message: 'bad_params.ts: DAG "bad_params": params must describe an object (the run conf), e.g. z.object({ ... })' },
    ]);
  });
});
