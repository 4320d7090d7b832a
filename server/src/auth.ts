// Who is asking, and what may they do. Every authorization decision of the API is made here:
// the schema asks these functions through Pothos' scope-auth plugin (api/builder.ts), and
// list fields filter with `dagWhere`. Terminology:
// - caller: who sent a request: the local user of an open API, a token, or nobody;
// - role: what kind of thing the caller may do, Airflow's four, weakest first;
// - grants: the DAGs a token is limited to (by id or tag); a token without grants sees every DAG.
import type { Db } from './db/prisma.js';
import { badInput } from './errors.js';
import type { Prisma } from './generated/prisma/client.js';
import { ROLES, type Role } from './roles.js';
import { parseDagRunId, checkDagId } from './runs.js';

export { isRole, ROLES, type Role } from './roles.js';

/** The DAGs a token is limited to: those whose id is in `dagIds` or that carry one of `tags`. */
export interface DagGrants {
  dagIds: readonly string[];
  tags: readonly string[];
}

/** Who sent a request, as the API sees it. */
export interface Caller {
  /** Stable id for the audit log: `local`, `anonymous` or `token:<prefix>`. */
  actor: string;
  /** The token's name, if it has one. */
  name: string | null;
  /** null: nobody (no token where one is required); such a caller may do nothing but public fields. */
  role: Role | null;
  /** null: every DAG. */
  grants: DagGrants | null;
}

/** The caller of an open API (`updraft start` on loopback, the CLI on the local database): an admin. */
export const LOCAL_CALLER: Caller = Object.freeze({ actor: 'local', name: null, role: 'admin', grants: null });

/** A request without a token to an API that requires one. */
export const ANONYMOUS_CALLER: Caller = Object.freeze({ actor: 'anonymous', name: null, role: null, grants: null });

/** Whether the caller has `role` or a stronger one. */
export function hasRole(caller: Caller, role: Role): boolean {
  return caller.role !== null && ROLES.indexOf(caller.role) >= ROLES.indexOf(role);
}

/** Whether grants (null: none, every DAG) include the DAG with this id and these tags. */
export function grantsDag(grants: DagGrants | null, dag: { id: string; tags: readonly string[] }): boolean {
  if (grants === null) return true;
  return grants.dagIds.includes(dag.id) || dag.tags.some((tag) => grants.tags.includes(tag));
}

/**
 * A Prisma filter on `Dag` for the DAGs the caller may see; undefined when it may see all of
 * them (so that unrestricted queries stay exactly as they were).
 */
export function dagWhere(caller: Caller): Prisma.DagWhereInput | undefined {
  const { grants } = caller;
  if (grants === null) return undefined;
  return { OR: [{ id: { in: [...grants.dagIds] } }, { tags: { hasSome: [...grants.tags] } }] };
}

/**
 * Whether the caller may see and act on the DAG `dagId`. A DAG outside the caller's grants is
 * refused whether or not it exists, so that a limited token cannot probe for DAG ids.
 */
export async function mayAccessDag(prisma: Db, caller: Caller, dagId: string): Promise<boolean> {
  const { grants } = caller;
  if (grants === null || grants.dagIds.includes(dagId)) return true;
  if (grants.tags.length === 0) return false;
  checkDagId(dagId); // PostgreSQL never sees an id it would refuse
  const dag = await prisma.dag.findUnique({ where: { id: dagId }, select: { id: true, tags: true } });
  return dag !== null && grantsDag(grants, dag);
}

/**
 * Whether the caller may see and act on the run `dagRunId` (a GraphQL ID): whether it may
 * access the run's DAG. An unknown run passes, so that the caller learns it does not exist.
 */
export async function mayAccessDagRun(prisma: Db, caller: Caller, dagRunId: string | number): Promise<boolean> {
  const id = parseDagRunId(dagRunId); // BAD_USER_INPUT for a malformed id, for every caller
  if (caller.grants === null) return true;
  const run = await prisma.dagRun.findUnique({ where: { id }, select: { dag: { select: { id: true, tags: true } } } });
  return run === null || grantsDag(caller.grants, run.dag);
}

/** Whether the caller may see and act on the backfill `backfillId`: whether it may access its DAG. An unknown backfill passes, as an unknown run does. */
export async function mayAccessBackfill(prisma: Db, caller: Caller, backfillId: string | number): Promise<boolean> {
  const id = parseBackfillId(String(backfillId)); // BAD_USER_INPUT for a malformed id, for every caller
  if (caller.grants === null) return true;
  const backfill = await prisma.backfill.findUnique({ where: { id }, select: { dag: { select: { id: true, tags: true } } } });
  return backfill === null || grantsDag(caller.grants, backfill.dag);
}

/** A backfill id given as text: digits only, 1 to 2147483647. */
export function parseBackfillId(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 2_147_483_647) throw badInput(`${JSON.stringify(text.slice(0, 80))} is not a backfill id: ids are positive integers`);
  return Number(text);
}

/** The ids of the DAGs the caller may see, or null for every DAG. */
export async function accessibleDagIds(prisma: Db, caller: Caller): Promise<string[] | null> {
  const where = dagWhere(caller);
  if (!where) return null;
  const dags = await prisma.dag.findMany({ where, select: { id: true } });
  return dags.map((dag) => dag.id);
}

/** The caller as a short phrase for error messages: `token "ci" (upd_3f9a…)`, `the local user`. */
export function describeCaller(caller: Caller): string {
  if (caller.actor === 'local') return 'the local user';
  if (caller.role === null) return 'an anonymous caller';
  const prefix = caller.actor.replace(/^token:/, '');
  return caller.name ? `token "${caller.name}" (upd_${prefix})` : `token upd_${prefix}`;
}
