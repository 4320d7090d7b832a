// Filters of run lists (`dagRuns`, `Dag.runs`): by state, run type and logical date. Checked
// once, then given as a Prisma filter (root lists) or SQL conditions (nested pages).
import type { ArgBuilder } from '@pothos/core';
import { Prisma } from '../../generated/prisma/client.js';
import { badInput } from '../../errors.js';
import { builder } from '../builder.js';
import { DagRunState, DagRunType } from './states.js';

type RunState = 'queued' | 'running' | 'success' | 'failed';
type RunType = 'manual' | 'scheduled' | 'backfill' | 'asset_triggered';

/** The arguments as GraphQL gives them. */
export interface RunFilterArgs {
  states?: RunState[] | null;
  runTypes?: RunType[] | null;
  logicalDateFrom?: Date | null;
  logicalDateTo?: Date | null;
}

/** Earliest and latest logical dates a filter may name (PostgreSQL's timestamps go further, JavaScript's do not agree). */
const EARLIEST = Date.UTC(1, 0, 1) - 1; // year 0001 included
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const MAX_LISTED = 20;

type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;

/** The filter arguments of a run list. */
export function runFilterArgs(arg: ArgBuilder<BuilderTypes>) {
  return {
    states: arg({ type: [DagRunState], description: 'Only runs in one of these states.' }),
    runTypes: arg({ type: [DagRunType], description: 'Only runs of one of these types.' }),
    logicalDateFrom: arg({ type: 'DateTime', description: 'Only runs whose logical date is at or after this time.' }),
    logicalDateTo: arg({ type: 'DateTime', description: 'Only runs whose logical date is before this time.' }),
  };
}

/** A checked filter: BAD_USER_INPUT for an empty list, an impossible date or a range that ends before it starts. */
export function runFilter(args: RunFilterArgs): { where: Prisma.DagRunWhereInput; sql: Prisma.Sql[] } {
  const where: Prisma.DagRunWhereInput = {};
  const sql: Prisma.Sql[] = [];
  for (const [name, list] of [['states', args.states], ['runTypes', args.runTypes]] as const) {
    if (list != null && (list.length === 0 || list.length > MAX_LISTED)) throw badInput(`${name} must list 1 to ${MAX_LISTED} values; leave it out for all`);
  }
  if (args.states != null) {
    where.state = { in: args.states };
    sql.push(Prisma.sql`t.state = ANY(CAST(${args.states} AS text[])::"DagRunState"[])`);
  }
  if (args.runTypes != null) {
    where.runType = { in: args.runTypes };
    sql.push(Prisma.sql`t.run_type = ANY(CAST(${args.runTypes} AS text[])::"DagRunType"[])`);
  }
  const from = checkDate('logicalDateFrom', args.logicalDateFrom);
  const to = checkDate('logicalDateTo', args.logicalDateTo);
  if (from && to && from.getTime() > to.getTime()) {
    throw badInput(`logicalDateFrom (${from.toISOString()}) is after logicalDateTo (${to.toISOString()}): the range is empty`);
  }
  if (from || to) where.logicalDate = { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) };
  if (from) sql.push(Prisma.sql`t.logical_date >= ${from}`);
  if (to) sql.push(Prisma.sql`t.logical_date < ${to}`);
  return { where, sql };
}

function checkDate(name: string, date: Date | null | undefined): Date | null {
  if (date == null) return null;
  const ms = date.getTime();
  if (!(ms >= EARLIEST && ms <= LATEST)) throw badInput(`${name} must be a date from year 1 to 9999`);
  return date;
}
