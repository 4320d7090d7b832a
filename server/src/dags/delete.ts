import type { Db } from '../db/prisma.js';
import { notFound } from '../errors.js';

/**
 * Deletes a DAG with its versions and its history, in one transaction: its runs first (with
 * their task instances, tries, logs and values), then the DAG (with its versions). Tries
 * still running record nothing when they end; jobs still queued find nothing to claim.
 * Returns how many runs were deleted.
 */
export async function deleteDag(prisma: Db, dagId: string): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const dag = await tx.dag.findUnique({ where: { id: dagId }, select: { id: true } });
    if (!dag) throw notFound(`DAG "${dagId}" does not exist`);
    // Live subscribers of its runs read them anew, find them gone, and end (live/streams.ts);
    // the DAG list's subscribers hear of it from the dag table's trigger.
    await tx.$executeRaw`SELECT pg_notify('updraft_run', json_build_object('run', id, 'tis', '[]'::json, 'more', true)::text) FROM dag_run WHERE dag_id = ${dagId}`;
    const { count } = await tx.dagRun.deleteMany({ where: { dagId } });
    await tx.dag.delete({ where: { id: dagId } });
    return count;
  });
}
