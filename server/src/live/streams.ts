// The live streams behind the API's subscriptions. Each yields small descriptors of what
// changed (ids, seq ranges); the GraphQL fields then read those rows with the selection
// the client asked for (api/schema/live.ts). A stream sends at most one event every
// EVENT_INTERVAL_MS, coalescing what it heard meanwhile, and each event is bounded.
import { Repeater } from 'graphql-yoga';
import type { Db } from '../db/prisma.js';
import { badInput, notFound } from '../errors.js';
import type { Inbox, LiveTopics, LiveUpdates } from './live-updates.js';

/** A stream sends at most one event this often; what it hears meanwhile is coalesced. */
export const EVENT_INTERVAL_MS = 100;
/** Most task instances one dagRunUpdated event carries; past them it says `resync`. */
export const MAX_EVENT_TASK_INSTANCES = 1_000;
/** Most log lines one taskLogLines event carries; more follow in the next events. */
export const MAX_EVENT_LOG_LINES = 1_000;
/** Most DAGs one dagsChanged event carries; past them it says `resync`. */
export const MAX_EVENT_DAGS = 100;
/** Most runs one dagRunsChanged event carries; past them it says `resync`. */
export const MAX_EVENT_DAG_RUNS = 100;
/** Runs whose DAG a dagRunsChanged stream remembers (a run never changes DAG); past them it forgets and asks again. */
const MAX_KNOWN_RUNS = 10_000;

/** One event of a run's stream: the run and these task instances changed. */
export interface DagRunUpdate {
  dagRunId: number;
  taskInstanceIds: bigint[];
  /** Read the run's task instances anew: first event, too many changes, or notifications lost. */
  resync: boolean;
}

/** One event of a try's log stream: lines `fromSeq`…`toSeq` were written (none when null). */
export interface TaskLogLinesUpdate {
  tryId: bigint;
  fromSeq: number | null;
  toSeq: number | null;
  /** The try has ended and every line was sent: the last event. */
  tryEnded: boolean;
  resync: boolean;
}

/** One event of the DAG list's stream. */
export interface DagsUpdate {
  dagIds: string[];
  importErrorsChanged: boolean;
  resync: boolean;
}

/** One event of a DAG's runs stream: these runs of the DAG were created or changed state. */
export interface DagRunsUpdate {
  dagId: string;
  dagRunIds: number[];
  /** Read the DAG's runs anew: first event, too many changes, or notifications lost. */
  resync: boolean;
}

interface StreamContext {
  prisma: Db;
  live: LiveUpdates;
  /** Who subscribes, for the per-client limit (a token, or an address). */
  client: string;
}

/** A stream's hold on live updates: its inbox (which it may move to other topics), closed when the client goes away. */
interface Listening {
  inbox: Inbox;
  /** When the stream last pushed an event (performance.now()). */
  lastPush: number;
  /** Listens to `topics` instead (the old inbox closes as the new one opens, so nothing falls between). */
  moveTo(topics: LiveTopics): Promise<void>;
}

/** Pushes an event and waits until the client has taken it. */
type Push<T> = (value: T) => Promise<void>;

/**
 * Changes of a run: first an event with `resync` (the subscription listens: read the run
 * now), then the run and the task instances that changed, coalesced. It ends when the run
 * is deleted.
 */
export function dagRunUpdates(ctx: StreamContext, dagRunId: number): Promise<AsyncIterable<DagRunUpdate>> {
  return stream<DagRunUpdate>(ctx, { run: dagRunId }, async (listening) => {
    const run = await ctx.prisma.dagRun.findUnique({ where: { id: dagRunId }, select: { id: true } });
    if (!run) throw notFound(`DagRun ${dagRunId} does not exist`);
    return async (push) => {
      await push({ dagRunId, taskInstanceIds: [], resync: true });
      while (await next(listening)) {
        const { events, resync, overflowed } = listening.inbox.take();
        const ids = new Set<string>();
        let more = resync || overflowed;
        for (const event of events) {
          if (event.kind !== 'run') continue;
          if (event.n.more) more = true;
          for (const [id] of event.n.tis) ids.add(id);
        }
        if (ids.size > MAX_EVENT_TASK_INSTANCES) more = true;
        // A run deleted (with its DAG) says `more`: the last event shows it gone (dagRun null).
        const gone = more && (await ctx.prisma.dagRun.findUnique({ where: { id: dagRunId }, select: { id: true } })) === null;
        await push({ dagRunId, taskInstanceIds: more ? [] : [...ids].map(BigInt), resync: more });
        if (gone) return;
      }
    };
  });
}

/**
 * Log lines of a try after `afterSeq`: first those already stored, then new ones as they
 * are written, at most MAX_EVENT_LOG_LINES an event; it ends once the try has ended and
 * every line was sent. `taskInstanceId` follows the instance's latest try (waiting for the
 * first when none started yet).
 */
export async function taskLogLines(ctx: StreamContext, which: { tryId: bigint } | { taskInstanceId: bigint }, afterSeq: number): Promise<AsyncIterable<TaskLogLinesUpdate>> {
  if (!Number.isInteger(afterSeq) || afterSeq < -1) throw badInput(`afterSeq is ${afterSeq}; it is -1 (every line) or the seq of the last line already seen`);
  const instance = await instanceOf(ctx.prisma, which);
  const knownTry = 'tryId' in which ? which.tryId : await latestTryId(ctx.prisma, instance.id);
  return stream<TaskLogLinesUpdate>(ctx, { run: instance.dagRunId, ...(knownTry !== null ? { log: String(knownTry) } : {}) }, async (listening) => async (push) => {
    let tryId = knownTry;
    // Following an instance that has not started: wait for its first try.
    while (tryId === null) {
      if (!(await next(listening))) return;
      listening.inbox.take();
      tryId = await latestTryId(ctx.prisma, instance.id);
      if (tryId !== null) await listening.moveTo({ run: instance.dagRunId, log: String(tryId) });
    }
    let after = afterSeq;
    let resync = false;
    let checkEnd = true;
    let ended = false;
    for (;;) {
      // The try's state first, then its lines: the lines its finish stored are then read too.
      if (checkEnd) ended = (await ctx.prisma.taskTry.findUnique({ where: { id: tryId }, select: { state: true } }))?.state !== 'running';
      const page = await ctx.prisma.taskLog.findMany({ where: { taskTryId: tryId, seq: { gt: after } }, orderBy: { seq: 'asc' }, take: MAX_EVENT_LOG_LINES, select: { seq: true } });
      const full = page.length === MAX_EVENT_LOG_LINES;
      const last = ended && !full;
      if (page.length > 0 || resync || last) {
        await push({ tryId, fromSeq: page[0]?.seq ?? null, toSeq: page.at(-1)?.seq ?? null, tryEnded: last, resync });
        after = page.at(-1)?.seq ?? after;
      }
      if (last) return;
      resync = false;
      checkEnd = false;
      if (full) continue;
      if (!(await next(listening))) return;
      const taken = listening.inbox.take();
      resync = taken.resync;
      // The try may have ended: its instance changed, or changes went unlisted.
      checkEnd = resync || taken.overflowed || taken.events.some((e) => e.kind === 'run' && (e.n.more === true || e.n.tis.some(([id]) => id === String(instance.id))));
    }
  });
}

/** Changes of the DAG list: first an event with `resync` (read the list now), then the DAGs that changed. */
export function dagsUpdates(ctx: StreamContext): Promise<AsyncIterable<DagsUpdate>> {
  return stream<DagsUpdate>(ctx, { dags: true }, async (listening) => async (push) => {
    await push({ dagIds: [], importErrorsChanged: false, resync: true });
    while (await next(listening)) {
      const { events, resync, overflowed } = listening.inbox.take();
      const ids = new Set<string>();
      let more = resync || overflowed;
      let importErrorsChanged = false;
      for (const event of events) {
        if (event.kind !== 'dags') continue;
        if (event.n.dags === null) more = true;
        else for (const id of event.n.dags) ids.add(id);
        importErrorsChanged ||= event.n.importErrors;
      }
      if (ids.size > MAX_EVENT_DAGS) more = true;
      await push({ dagIds: more ? [] : [...ids], importErrorsChanged: importErrorsChanged || more, resync: more });
    }
  });
}

/**
 * Runs of a DAG created or changing state: first an event with `resync` (read the runs now),
 * then the runs that changed, coalesced. Run notifications name the run, not its DAG: the
 * stream hears every run's state changes (`runStates`, over the same LISTEN connection) and
 * looks up the DAG of runs it does not know yet, one query per event at most; task instance
 * changes that leave the run's state alone never reach it.
 */
export function dagRunsUpdates(ctx: StreamContext, dagId: string): Promise<AsyncIterable<DagRunsUpdate>> {
  return stream<DagRunsUpdate>(ctx, { runStates: true }, async (listening) => {
    const dag = await ctx.prisma.dag.findUnique({ where: { id: dagId }, select: { id: true } });
    if (!dag) throw notFound(`DAG "${dagId}" does not exist`);
    /** Whether a run is of this DAG; a run never moves to another DAG. */
    const mine = new Map<number, boolean>();
    return async (push) => {
      await push({ dagId, dagRunIds: [], resync: true });
      while (await next(listening)) {
        const { events, resync, overflowed } = listening.inbox.take();
        const changed = new Set<number>();
        for (const event of events) if (event.kind === 'run' && event.n.state !== undefined) changed.add(event.n.run);
        const unknown = [...changed].filter((id) => !mine.has(id));
        if (unknown.length > 0) {
          const found = await ctx.prisma.dagRun.findMany({ where: { id: { in: unknown } }, select: { id: true, dagId: true } });
          if (mine.size + unknown.length > MAX_KNOWN_RUNS) mine.clear();
          const ofDag = new Set(found.filter((r) => r.dagId === dagId).map((r) => r.id));
          // A run gone already (deleted) is not remembered: its id is never reused anyway.
          for (const r of found) mine.set(r.id, ofDag.has(r.id));
        }
        const ids = [...changed].filter((id) => mine.get(id) === true);
        const more = resync || overflowed || ids.length > MAX_EVENT_DAG_RUNS;
        if (ids.length === 0 && !more) continue;
        await push({ dagId, dagRunIds: more ? [] : ids.sort((a, b) => b - a), resync: more });
      }
    };
  });
}

/**
 * A stream over an inbox on `topics`. `prepare` runs once the inbox listens, before the
 * stream is returned (so a bad request fails the subscription with its error rather than
 * giving an empty stream), and returns the body, which pushes events until it returns or
 * the client goes away (its inbox is then closed). Pushing waits until the client took the
 * previous event, so a client that does not read holds one event and a bounded inbox.
 */
async function stream<T>(ctx: StreamContext, topics: LiveTopics, prepare: (listening: Listening) => Promise<(push: Push<T>) => Promise<void>>): Promise<AsyncIterable<T>> {
  let gone = false;
  const listening: Listening = {
    inbox: await ctx.live.open(topics, ctx.client),
    lastPush: -Infinity,
    async moveTo(next) {
      // Closed first, so that the move never counts twice against the limits; open() adds the
      // new inbox before its first await, so no notification falls between the two.
      listening.inbox.close();
      const fresh = await ctx.live.open(next, ctx.client);
      listening.inbox = fresh;
      if (gone) fresh.close();
    },
  };
  const end = () => {
    gone = true;
    listening.inbox.close();
  };
  let body: (push: Push<T>) => Promise<void>;
  try {
    body = await prepare(listening);
  } catch (e) {
    end();
    throw e;
  }
  const repeater = new Repeater<T>(async (push, stop) => {
    void stop.then(end);
    try {
      await body(async (value) => {
        if (gone) return;
        listening.lastPush = performance.now();
        await push(value);
      });
    } finally {
      end();
      stop();
    }
  });
  // return() before the first next() never runs the repeater's executor: close the inbox here too.
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => repeater.next(),
      return: (value?: unknown) => {
        end();
        return repeater.return(value as T);
      },
      throw: (error?: unknown) => {
        end();
        return repeater.throw(error);
      },
    }),
  };
}

/**
 * Waits for the next thing to tell, then until EVENT_INTERVAL_MS have passed since the last
 * event (what arrives meanwhile joins it); false when the stream is over.
 */
async function next(listening: Listening): Promise<boolean> {
  await listening.inbox.wait();
  if (listening.inbox.closed) return false;
  const wait = listening.lastPush + EVENT_INTERVAL_MS - performance.now();
  if (wait > 0) await sleep(wait);
  return !listening.inbox.closed;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function instanceOf(prisma: Db, which: { tryId: bigint } | { taskInstanceId: bigint }): Promise<{ id: bigint; dagRunId: number }> {
  if ('tryId' in which) {
    const row = await prisma.taskTry.findUnique({ where: { id: which.tryId }, select: { taskInstance: { select: { id: true, dagRunId: true } } } });
    if (!row) throw notFound(`TaskTry ${which.tryId} does not exist`);
    return row.taskInstance;
  }
  const row = await prisma.taskInstance.findUnique({ where: { id: which.taskInstanceId }, select: { id: true, dagRunId: true } });
  if (!row) throw notFound(`TaskInstance ${which.taskInstanceId} does not exist`);
  return row;
}

async function latestTryId(prisma: Db, taskInstanceId: bigint): Promise<bigint | null> {
  const latest = await prisma.taskTry.findFirst({ where: { taskInstanceId }, orderBy: { tryNumber: 'desc' }, select: { id: true } });
  return latest?.id ?? null;
}
