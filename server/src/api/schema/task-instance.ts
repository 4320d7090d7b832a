// A task instance, its tries, their log lines and its XCom values.
import { Prisma } from '../../generated/prisma/client.js';
import { badInput } from '../../errors.js';
import { pageTypes } from './connections.js';
import { builder } from '../builder.js';
import { JSON_FIELD_COST, pageLimits } from '../limits.js';
import { nestedPage, type NestedPageSpec } from '../nested-pages.js';
import { TaskInstanceState } from './states.js';
import { waitingReason } from '../../executor/pools.js';
import { renderXCom } from '../../xcom/render.js';

/** What the API reads of an XCom row to show its value (never a blob). */
const XCOM_VALUE_SELECT = { value: true, encoding: true, serialized: true, blobKey: true, sizeBytes: true } as const;

const XComEncoding = builder.enumType('XComEncoding', {
  description: 'How an XCom value is written.',
  values: {
    json: { description: 'Plain JSON (stored as jsonb when inline).' },
    devalue: { description: 'devalue text: the value holds types JSON cannot carry (Date, Map, Set, BigInt, undefined, typed arrays, NaN, strings with NUL, repeated references).' },
  } as const,
});

const XComStorage = builder.enumType('XComStorage', {
  description: 'Where an XCom value is kept.',
  values: {
    database: { description: 'Inline in its row (values up to the inline limit, 64 KB by default).' },
    object_store: { description: 'In the object store (`<home>/xcom` by default); its row holds the reference and the size.' },
  } as const,
});

/** A try's log lines in `seq` order (the unique key's index range). */
const LOG_LINES: NestedPageSpec = {
  table: 'task_log',
  parentColumn: 'task_try_id',
  parentType: 'bigint',
  order: [{ field: 'seq', column: 'seq', type: 'integer' }],
  descending: false,
};

/** Milliseconds between two times, or null while the second is missing. */
export const durationMs = (start: Date | null, end: Date | null) => (start && end ? end.getTime() - start.getTime() : null);

/** The `{ name, message, stack }` a try's error is stored as, read defensively (it is JSON). */
function errorPart(error: unknown, part: 'name' | 'message'): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const value = (error as Record<string, unknown>)[part];
  return typeof value === 'string' ? value : null;
}

builder.prismaObject('TaskInstance', {
  description: 'One task (or one instance of a mapped task) in one run: its state, tries and values.',
  select: { id: true },
  fields: (t) => ({
    id: t.id({ description: 'The instance’s id.', resolve: (ti) => String(ti.id) }),
    dagRunId: t.id({ description: 'The run it belongs to.', select: { dagRunId: true }, resolve: (ti) => String(ti.dagRunId) }),
    taskId: t.exposeString('taskId', { description: 'The task it is an instance of.' }),
    mapIndex: t.exposeInt('mapIndex', { description: '−1 unless it is one of a mapped task’s instances (0…n−1).' }),
    mapItem: t.field({
      type: 'JSON',
      nullable: true,
      complexity: JSON_FIELD_COST,
      description: 'The item a mapped instance maps over (its first argument), as JSON with the markers of `XCom.value` for other types; null otherwise.',
      select: { mapItem: true, mapItemSerialized: true },
      resolve: (ti) =>
        ti.mapItemSerialized === null
          ? (ti.mapItem as never)
          : (renderXCom({ value: null, encoding: 'devalue', serialized: ti.mapItemSerialized, blobKey: null, sizeBytes: ti.mapItemSerialized.length }) as never),
    }),
    state: t.expose('state', { type: TaskInstanceState, description: 'Where it stands.' }),
    tryNumber: t.exposeInt('tryNumber', { description: 'Number of the latest try; 0 before the first.' }),
    maxTries: t.exposeInt('maxTries', { description: 'The try number past which a failure is final (retries + 1, more after a clear or a reschedule).' }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime', nullable: true, description: 'When it was last enqueued for a worker.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When its latest try started.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null until then.' }),
    durationMs: t.float({
      nullable: true,
      description: 'endedAt − startedAt of its latest try, in milliseconds; null until it ended.',
      select: { startedAt: true, endedAt: true },
      resolve: (ti) => durationMs(ti.startedAt, ti.endedAt),
    }),
    queue: t.exposeString('queue', { description: 'The worker queue it runs on (workers serve the queues they were started with).' }),
    pool: t.exposeString('pool', { description: 'The pool whose slots it takes while queued or running.' }),
    poolSlots: t.exposeInt('poolSlots', { description: 'How many of its pool’s slots it takes.' }),
    priorityWeight: t.exposeInt('priorityWeight', { description: 'Its effective priority weight (its task’s weight rule applied): when slots are short, higher starts first.' }),
    waitingFor: t.string({
      nullable: true,
      description:
        'Why it has not started though it may: the pool slots or the DAG’s maxActiveTasks it waits for (it is `scheduled`), or its queue that no live worker serves (it is `queued`). Null otherwise.',
      select: { state: true, gated: true, pool: true, poolSlots: true, queue: true, nextTryAt: true, dagRun: { select: { dagId: true } } },
      resolve: (ti, _args, ctx) =>
        ti.state === 'scheduled' || ti.state === 'queued' || ti.state === 'up_for_retry' || ti.state === 'up_for_reschedule'
          ? waitingReason(ctx.pool, { ...ti, dagId: ti.dagRun.dagId }, ctx.lostWorkerTimeoutMs)
          : null,
    }),
    nextTryAt: t.expose('nextTryAt', { type: 'DateTime', nullable: true, description: 'When an `up_for_retry` or `up_for_reschedule` instance runs again.' }),
    returnValue: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'What the task returned (its `return_value` XCom), as JSON; null without one. Types JSON cannot carry show as marker objects (`{"$date": …}`, `{"$map": [[k, v]…]}`, `{"$set": […]}`, `{"$bigint": "…"}`, `{"$undefined": true}`…), and a value in the object store as `{"$blob": {sizeBytes, reference}}` (never loaded): see `XCom.value`.',
      select: { xcoms: { where: { key: 'return_value' }, select: XCOM_VALUE_SELECT } },
      complexity: JSON_FIELD_COST,
      resolve: (ti) => (ti.xcoms[0] ? renderXCom(ti.xcoms[0]) : null),
    }),
    xcoms: t.relation('xcoms', { description: 'Every value it published (XCom), by key.', query: { orderBy: { key: 'asc' } } }),
    dagRun: t.relation('dagRun', { description: 'The run it belongs to.' }),
    tries: t.relation('tries', {
      description: 'Its tries, first first; kept across retries and clears.',
      args: { tryNumber: t.arg.int({ description: 'Only the try with this number (e.g. to page back through its log lines alone).' }) },
      query: (args) => ({ where: args.tryNumber != null ? { tryNumber: args.tryNumber } : {}, orderBy: { tryNumber: 'asc' } }),
    }),
  }),
});

builder.prismaObject('TaskTry', {
  description: 'One attempt at a task instance.',
  select: { id: true },
  fields: (t) => ({
    id: t.id({ description: 'The try’s id.', resolve: (tt) => String(tt.id) }),
    tryNumber: t.exposeInt('tryNumber', { description: '1 for the first try, counting up across retries and clears.' }),
    state: t.expose('state', { type: TaskInstanceState, description: '`running` while it runs, then how it ended.' }),
    workerId: t.exposeString('workerId', { nullable: true, description: 'The worker that ran it.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When a worker claimed it.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null while it runs.' }),
    durationMs: t.float({
      nullable: true,
      description: 'endedAt − startedAt in milliseconds; null while it runs.',
      select: { startedAt: true, endedAt: true },
      resolve: (tt) => durationMs(tt.startedAt, tt.endedAt),
    }),
    error: t.expose('error', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST, description: '`{ name, message, stack }` of the error that ended it; null when it did not fail.' }),
    errorName: t.string({
      nullable: true,
      description: 'Why it failed, as the name of its error (`TaskTimeout`, `WorkerLost`, … or the task’s own error class).',
      select: { error: true },
      resolve: (tt) => errorPart(tt.error, 'name'),
    }),
    errorMessage: t.string({ nullable: true, description: 'The message of the error that ended it.', select: { error: true }, resolve: (tt) => errorPart(tt.error, 'message') }),
    logs: t.prismaConnection(
      {
        type: 'TaskLog',
        cursor: 'taskTryId_seq',
        description: 'Its log lines in `seq` order: `first`/`after` pages forward, `last: n` is the tail, and `last: n, before: startCursor` the lines before those (a log view’s “load earlier”).',
        args: { afterSeq: t.arg.int({ description: 'Only lines after this sequence number (e.g. the last one a client has).' }) },
        ...pageLimits,
        resolve: (query, tt, args, ctx, info) => {
          const filters: Prisma.Sql[] = [];
          if (args.afterSeq != null) {
            if (args.afterSeq < 0) throw badInput(`afterSeq is ${args.afterSeq}; sequence numbers start at 0`);
            filters.push(Prisma.sql`t.seq > ${args.afterSeq}`);
          }
          return nestedPage(ctx, info, LOG_LINES, tt.id, query, filters, (selection, ids) => ctx.prisma.taskLog.findMany({ ...selection, where: { id: { in: ids as bigint[] } } }));
        },
      },
      ...pageTypes('TaskLog', 'log lines'),
    ),
  }),
});

builder.prismaObject('TaskLog', {
  description: 'A line a try logged (`context().log`, `console.*`, or its process’s output).',
  select: { id: true },
  fields: (t) => ({
    seq: t.exposeInt('seq', { description: 'Its place among the try’s lines, from 0.' }),
    level: t.exposeString('level', { description: '`debug`, `info`, `warn` or `error`.' }),
    message: t.exposeString('message', { description: 'The text.' }),
    fields: t.expose('fields', { type: 'JSON', nullable: true, complexity: JSON_FIELD_COST, description: 'Structured fields logged with it (`log.info(message, fields)`).' }),
    loggedAt: t.expose('loggedAt', { type: 'DateTime', description: 'When it was logged.' }),
  }),
});

builder.prismaObject('XCom', {
  description: 'A value a task instance published; `return_value` is what the task returned.',
  select: { id: true },
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Its name (`return_value` for the return value).' }),
    value: t.field({
      type: 'JSON',
      nullable: true,
      complexity: JSON_FIELD_COST,
      description:
        'The value as JSON. Plain JSON as it is; types JSON cannot carry as marker objects: `{"$date": iso}`, `{"$map": [[k, v]…]}`, `{"$set": […]}`, `{"$bigint": "123"}`, `{"$undefined": true}`, `{"$number": "NaN"}`, `{"$typedArray": "Uint8Array", "base64": …}`, `{"$regexp": …}`, `{"$url": …}`, `{"$cycle": true}`; a value in the object store as `{"$blob": {sizeBytes, reference}}`, never loaded into a response.',
      select: XCOM_VALUE_SELECT,
      resolve: (x) => renderXCom(x) as never,
    }),
    sizeBytes: t.exposeInt('sizeBytes', { description: 'Its size as stored text (JSON or devalue), in bytes.' }),
    encoding: t.field({ type: XComEncoding, description: 'How it is written.', select: { encoding: true }, resolve: (x) => x.encoding as 'json' | 'devalue' }),
    storedIn: t.field({ type: XComStorage, description: 'Where it is kept.', select: { blobKey: true }, resolve: (x) => (x.blobKey === null ? 'database' : 'object_store') }),
    reference: t.string({ nullable: true, description: 'Its key in the object store; null when it is kept in the database.', select: { blobKey: true }, resolve: (x) => x.blobKey }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was stored.' }),
  }),
});
