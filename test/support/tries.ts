// What a task instance's tries left behind, as stored: for tests of operators.
import type { TestPlatform } from './platform.js';

export interface StoredTry {
  tryNumber: number;
  state: string;
  error: { name: string; message: string } | null;
  lines: Array<{ level: string; message: string; fields: unknown }>;
}

/** The tries of `taskId` in run `runId` (map index -1 unless given), first first, with their log lines. */
export async function storedTries(platform: TestPlatform, runId: number, taskId: string, mapIndex = -1): Promise<StoredTry[]> {
  const tries = await platform.db.prisma.taskTry.findMany({
    where: { taskInstance: { dagRunId: runId, taskId, mapIndex } },
    include: { logs: { orderBy: { seq: 'asc' } } },
    orderBy: { tryNumber: 'asc' },
  });
  return tries.map((t) => ({
    tryNumber: t.tryNumber,
    state: t.state,
    error: t.error as StoredTry['error'],
    lines: t.logs.map((l) => ({ level: l.level, message: l.message, fields: l.fields })),
  }));
}

/** The XCom values of run `runId` by task id (mapped instances: an array in map order). */
export async function returnValues(platform: TestPlatform, runId: number): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const ti of await platform.taskInstances(runId)) {
    if (ti.mapIndex < 0) values[ti.taskId] = ti.returnValue;
    else ((values[ti.taskId] ??= []) as unknown[])[ti.mapIndex] = ti.returnValue;
  }
  return values;
}
