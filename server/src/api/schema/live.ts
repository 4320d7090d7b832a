// Subscriptions (served over SSE): live changes of a run, of a try's log lines and of the
// DAG list, fed by PostgreSQL LISTEN/NOTIFY (live/). Events name what changed; the fields
// below read those rows with the client's selection, so an event costs one query per field.
import { dagWhere } from '../../auth.js';
import type { Db } from '../../db/prisma.js';
import { badInput, UpdraftError } from '../../errors.js';
import type { LiveUpdates } from '../../live/live-updates.js';
import {
  dagRunsUpdates,
  dagRunUpdates,
  dagsUpdates,
  MAX_EVENT_DAG_RUNS,
  MAX_EVENT_DAGS,
  MAX_EVENT_LOG_LINES,
  MAX_EVENT_TASK_INSTANCES,
  taskLogLines,
  type DagRunsUpdate,
  type DagRunUpdate,
  type DagsUpdate,
  type TaskLogLinesUpdate,
} from '../../live/streams.js';
import { checkDagId, parseDagRunId } from '../../runs.js';
import { builder, type ApiContext } from '../builder.js';

const RESYNC =
  'True on the first event and whenever changes may have been missed (more changed than one event carries, or the server lost notifications while reconnecting to the database): read the object anew with a query, then keep applying the events that follow.';

const DagRunUpdateType = builder.objectRef<DagRunUpdate>('DagRunUpdate').implement({
  description: 'A change of a run: its state and the task instances that changed since the previous event (at most one event every 100 ms).',
  fields: (t) => ({
    dagRun: t.prismaField({
      type: 'DagRun',
      nullable: true,
      description: 'The run as it is now (null if it was deleted).',
      resolve: (query, update, _args, ctx) => ctx.prisma.dagRun.findUnique({ ...query, where: { id: update.dagRunId } }),
    }),
    taskInstances: t.prismaField({
      type: ['TaskInstance'],
      description: `The task instances that changed since the previous event, as they are now, by id; at most ${MAX_EVENT_TASK_INSTANCES} (past that the event says \`resync\` and lists none).`,
      complexity: { field: 1, multiplier: MAX_EVENT_TASK_INSTANCES },
      resolve: (query, update, _args, ctx) =>
        update.taskInstanceIds.length === 0 ? [] : ctx.prisma.taskInstance.findMany({ ...query, where: { id: { in: update.taskInstanceIds } }, orderBy: { id: 'asc' } }),
    }),
    resync: t.exposeBoolean('resync', { description: `${RESYNC} For a run: \`dagRun(id) { taskInstances }\`.` }),
  }),
});

const TaskLogLinesUpdateType = builder.objectRef<TaskLogLinesUpdate>('TaskLogLinesUpdate').implement({
  description: 'Log lines of a try, in `seq` order, as they are written (every 200 ms or so while it runs).',
  fields: (t) => ({
    try: t.prismaField({
      type: 'TaskTry',
      nullable: true,
      description: 'The try the lines belong to, as it is now (null if it was deleted with its DAG).',
      resolve: (query, update, _args, ctx) => ctx.prisma.taskTry.findUnique({ ...query, where: { id: update.tryId } }),
    }),
    lines: t.prismaField({
      type: ['TaskLog'],
      description: `Lines written since the previous event, in seq order; at most ${MAX_EVENT_LOG_LINES} (more follow in the next events).`,
      complexity: { field: 1, multiplier: MAX_EVENT_LOG_LINES },
      resolve: (query, update, _args, ctx) =>
        update.fromSeq === null
          ? []
          : ctx.prisma.taskLog.findMany({ ...query, where: { taskTryId: update.tryId, seq: { gte: update.fromSeq, lte: update.toSeq! } }, orderBy: { seq: 'asc' } }),
    }),
    tryEnded: t.exposeBoolean('tryEnded', { description: 'The try has ended and every line it wrote was sent: this is the last event.' }),
    resync: t.exposeBoolean('resync', {
      description:
        'True when the server lost notifications while reconnecting to the database. Nothing to do for log lines: the stream reads on from the last line it sent, so no line is missed.',
    }),
  }),
});

const DagListUpdateType = builder.objectRef<DagsUpdate>('DagListUpdate').implement({
  description: 'A change of the DAG list: a deploy, a pause or unpause, a DAG retired, import errors.',
  fields: (t) => ({
    dags: t.prismaField({
      type: ['Dag'],
      description: `The DAGs that changed since the previous event, as they are now (inactive ones included), by id; at most ${MAX_EVENT_DAGS} (past that the event says \`resync\`).`,
      complexity: { field: 1, multiplier: MAX_EVENT_DAGS },
      // A token limited to some DAGs hears of those only.
      resolve: (query, update, _args, ctx) =>
        update.dagIds.length === 0 ? [] : ctx.prisma.dag.findMany({ ...query, where: { id: { in: update.dagIds }, ...dagWhere(ctx.caller) }, orderBy: { id: 'asc' } }),
    }),
    importErrorsChanged: t.exposeBoolean('importErrorsChanged', { description: 'Import errors changed (or may have): read `importErrors` anew.' }),
    resync: t.exposeBoolean('resync', { description: `${RESYNC} For the list: \`dags\` and \`importErrors\`.` }),
  }),
});

const DagRunsUpdateType = builder.objectRef<DagRunsUpdate>('DagRunsUpdate').implement({
  description: 'Runs of a DAG that were created (by the scheduler, a trigger, a backfill, a webhook…) or changed state since the previous event (at most one event every 100 ms).',
  fields: (t) => ({
    dagRuns: t.prismaField({
      type: ['DagRun'],
      description: `The runs created or changed since the previous event, as they are now, newest first; at most ${MAX_EVENT_DAG_RUNS} (past that the event says \`resync\` and lists none). A run deleted meanwhile is left out.`,
      complexity: { field: 1, multiplier: MAX_EVENT_DAG_RUNS },
      resolve: (query, update, _args, ctx) =>
        update.dagRunIds.length === 0 ? [] : ctx.prisma.dagRun.findMany({ ...query, where: { id: { in: update.dagRunIds }, dagId: update.dagId }, orderBy: { id: 'desc' } }),
    }),
    resync: t.exposeBoolean('resync', { description: `${RESYNC} For a DAG's runs: \`dagRuns(dagId)\` or \`dagGrid(dagId)\`.` }),
  }),
});

builder.subscriptionFields((t) => ({
  dagRunsChanged: t.field({
    type: DagRunsUpdateType,
    description:
      'Runs of a DAG as they are created or change state (queued, running, success, failed), whoever made them: the scheduler, a trigger from the API, the CLI or a webhook, a backfill, a clear. Task instance changes that leave the run’s state alone are not sent (follow a run with `dagRunUpdated`). The first event says `resync`: read the runs then, and apply the events that follow.',
    args: { dagId: t.arg.id({ required: true, description: 'The DAG’s id.' }) },
    // Authorized when it starts, like the dag query: a token needs the grant on this DAG.
    authScopes: (_root, args) => ({ dag: String(args.dagId) }),
    subscribe: (_root, args, ctx) => {
      checkDagId(String(args.dagId));
      return dagRunsUpdates(live(ctx), String(args.dagId));
    },
    resolve: (update) => update,
  }),
  dagRunUpdated: t.field({
    type: DagRunUpdateType,
    description:
      'Changes of a run as they happen: its state and its task instances’ (queued, running, success…). The first event says `resync`: read the run then, and apply the events that follow.',
    args: { id: t.arg.id({ required: true, description: 'The DagRun’s id.' }) },
    // Authorized when it starts (builder.ts: authorizeOnSubscribe), like the dagRun query.
    authScopes: (_root, args) => ({ dagRun: String(args.id) }),
    subscribe: (_root, args, ctx) => dagRunUpdates(live(ctx), parseDagRunId(args.id)),
    resolve: (update) => update,
  }),
  taskLogLines: t.field({
    type: TaskLogLinesUpdateType,
    description:
      'Log lines of a try: first those already stored after `afterSeq`, then new ones as the running try writes them; the stream ends (after an event with `tryEnded`) once the try has ended and every line was sent.',
    args: {
      tryId: t.arg.id({ description: 'The try (`TaskTry.id`). Give this or `taskInstanceId`.' }),
      taskInstanceId: t.arg.id({ description: 'Follow this task instance’s latest try (its first, when it has not started yet).' }),
      afterSeq: t.arg.int({ defaultValue: -1, description: 'Only lines after this seq (the last one already seen); -1 for every line.' }),
    },
    // The grant on the DAG of the try's run; an unknown try passes, to be NOT_FOUND (as runs are).
    authScopes: async (_root, args, ctx) => {
      const dagRunId = await dagRunOf(ctx.prisma, logSource(args));
      return dagRunId === null ? { authenticated: true } : { dagRun: String(dagRunId) };
    },
    subscribe: (_root, args, ctx) => taskLogLines(live(ctx), logSource(args), args.afterSeq ?? -1),
    resolve: (update) => update,
  }),
  dagsChanged: t.field({
    type: DagListUpdateType,
    description: 'Changes of the DAG list as they happen. The first event says `resync`: read the list then, and apply the events that follow.',
    subscribe: (_root, _args, ctx) => dagsUpdates(live(ctx)),
    resolve: (update) => update,
  }),
}));

function live(ctx: ApiContext): { prisma: ApiContext['prisma']; live: LiveUpdates; client: string } {
  if (!ctx.live) throw new UpdraftError('SERVICE_UNAVAILABLE', 'Live updates are not available from this API (it was created without them)', { httpStatus: 503 });
  // A token's subscriptions count together wherever they come from; without one, per address.
  const client = ctx.caller.actor.startsWith('token:') ? ctx.caller.actor : `address:${ctx.clientAddress ?? 'in-process'}`;
  return { prisma: ctx.prisma, live: ctx.live, client };
}

/** The try `taskLogLines` was asked for, by its id or its task instance's. */
function logSource(args: { tryId?: string | number | null; taskInstanceId?: string | number | null }): { tryId: bigint } | { taskInstanceId: bigint } {
  if ((args.tryId == null) === (args.taskInstanceId == null)) throw badInput('taskLogLines takes either tryId or taskInstanceId');
  return args.tryId != null ? { tryId: parseBigId('TaskTry', args.tryId) } : { taskInstanceId: parseBigId('TaskInstance', args.taskInstanceId!) };
}

/** The run of a try or task instance, or null when there is none. */
async function dagRunOf(prisma: Db, which: { tryId: bigint } | { taskInstanceId: bigint }): Promise<number | null> {
  if ('tryId' in which) {
    const row = await prisma.taskTry.findUnique({ where: { id: which.tryId }, select: { taskInstance: { select: { dagRunId: true } } } });
    return row?.taskInstance.dagRunId ?? null;
  }
  const row = await prisma.taskInstance.findUnique({ where: { id: which.taskInstanceId }, select: { dagRunId: true } });
  return row?.dagRunId ?? null;
}

const MAX_BIGINT_ID = 9_223_372_036_854_775_807n;

/** A BIGINT row id given as text: digits only, 1 to 2^63−1. */
function parseBigId(what: string, id: string | number): bigint {
  const text = String(id);
  if (!/^[1-9][0-9]{0,18}$/.test(text) || BigInt(text) > MAX_BIGINT_ID) throw badInput(`${JSON.stringify(text.slice(0, 40))} is not a ${what} id: ids are positive integers below 2^63`);
  return BigInt(text);
}
