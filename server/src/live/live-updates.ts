import { setMaxListeners } from 'node:events';
import { createPubSub } from 'graphql-yoga';
import pg from 'pg';
import { coerceError, isConnectionError, UpdraftError } from '../errors.js';
import {
  CHANNELS,
  parseDagsNotification,
  parseLogNotification,
  parseRunNotification,
  type DagsNotification,
  type LogNotification,
  type RunNotification,
} from './notifications.js';

/** What a subscriber can hear: a run's changes, a try's new log lines, the DAG list's changes. */
export type LiveEvent = { kind: 'run'; n: RunNotification } | { kind: 'log'; n: LogNotification } | { kind: 'dags'; n: DagsNotification };

/**
 * What a watch() listener hears: every notification, `assets` when asset events were queued
 * for some DAG (the scheduler's asset loop), and `resync` after a reconnection.
 */
export type WatchedEvent = LiveEvent | { kind: 'assets' } | { kind: 'resync' };

/** The topics a subscriber listens to. */
export interface LiveTopics {
  /** Changes of this run (and its task instances). */
  run?: number;
  /** New log lines of this try. */
  log?: string;
  /** Changes of the DAG list. */
  dags?: boolean;
  /** Every run's creation and state changes, whatever its DAG (run notifications that carry a `state`). */
  runStates?: boolean;
}

export interface LiveUpdatesOptions {
  /** The metadata database: the LISTEN connection is a client of its own, not from a pool. */
  databaseUrl: string;
  /** Subscriptions open at once in this process; more are refused. Default 1,000. */
  maxSubscriptions?: number;
  /** Subscriptions one client (a token, or an address without one) may have open at once. Default 100. */
  maxSubscriptionsPerClient?: number;
  /** Notifications one subscriber keeps before it stops counting and resyncs instead. Default 1,000. */
  maxPendingEvents?: number;
  /** Delay before the first reconnection attempt, doubling up to `reconnectMaxMs`. Default 100 ms. */
  reconnectMs?: number;
  /** Default 5 s. */
  reconnectMaxMs?: number;
  /** A lost or failed LISTEN connection (default: stderr). */
  onWarning?: (message: string) => void;
}

/** How the LISTEN connection is known in `pg_stat_activity`. */
export const LISTENER_APPLICATION_NAME = 'updraft live updates';

/**
 * Live updates for one server process: one dedicated PostgreSQL connection LISTENs on the
 * channels of live/notifications.ts, however many subscribers there are, and yoga's
 * `createPubSub` fans what it hears out to them (each into its own bounded Inbox). The
 * connection opens with the first subscription. When it drops it is reopened with backoff,
 * and every subscriber is then told to `resync`: notifications sent meanwhile are lost, so
 * it reads anew what it shows.
 */
export class LiveUpdates {
  private readonly pubsub = createPubSub<{
    run: [dagRunId: number, event: LiveEvent];
    log: [tryId: string, event: LiveEvent];
    dags: [event: LiveEvent];
    runStates: [event: LiveEvent];
  }>({ eventTarget: manyListeners(new EventTarget()) });
  private readonly inboxes = new Set<Inbox>();
  /** This process's own listeners (watch()). */
  private readonly watchers = new Set<(event: WatchedEvent) => void>();
  /** Open subscriptions per client. */
  private readonly clients = new Map<string, number>();
  private client: pg.Client | undefined;
  /** Listened before: a new connection is a reconnection. */
  private wasListening = false;
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private readonly warn: (message: string) => void;

  constructor(private readonly opts: LiveUpdatesOptions) {
    this.warn = opts.onWarning ?? ((message) => console.warn(`warning: ${message}`));
  }

  /** Subscriptions open now. */
  get subscriptions(): number {
    return this.inboxes.size;
  }

  /**
   * Opens a subscriber's inbox on `topics`, once the LISTEN connection listens: whatever
   * the subscriber reads from the database afterwards is either already in what it read,
   * or arrives in the inbox. Refuses a subscription past `maxSubscriptions`, or past
   * `maxSubscriptionsPerClient` for `client`; throws a connection error when the database
   * cannot be reached. Everything up to the first `await` is synchronous: closing an inbox
   * and opening its successor lets no notification fall between them.
   */
  async open(topics: LiveTopics, client = 'in-process'): Promise<Inbox> {
    if (this.closed) throw new UpdraftError('SERVICE_UNAVAILABLE', 'The server is shutting down; subscribe again shortly', { httpStatus: 503 });
    const max = this.opts.maxSubscriptions ?? 1_000;
    if (this.inboxes.size >= max) {
      throw new UpdraftError('SUBSCRIPTION_LIMIT', `This server already serves ${max} subscriptions, its limit; close some or subscribe later`, { httpStatus: 429 });
    }
    const perClient = this.opts.maxSubscriptionsPerClient ?? 100;
    const held = this.clients.get(client) ?? 0;
    if (held >= perClient) {
      throw new UpdraftError('SUBSCRIPTION_LIMIT', `This client already has ${held} subscriptions open, the most one client may; close some first`, { httpStatus: 429 });
    }
    this.clients.set(client, held + 1);
    const iterators: Array<AsyncIterator<LiveEvent>> = [];
    const inbox = new Inbox(this.opts.maxPendingEvents ?? 1_000, () => {
      this.inboxes.delete(inbox);
      const left = (this.clients.get(client) ?? 1) - 1;
      if (left > 0) this.clients.set(client, left);
      else this.clients.delete(client);
      for (const it of iterators) void it.return?.();
    });
    this.inboxes.add(inbox);
    const listen = (source: AsyncIterable<LiveEvent>) => {
      const it = source[Symbol.asyncIterator]();
      iterators.push(it);
      // Drained at once into the inbox, which coalesces: a subscriber that does not read never queues events here.
      void (async () => {
        for (let next = await it.next(); !next.done; next = await it.next()) inbox.add(next.value);
      })();
    };
    if (topics.run !== undefined) listen(this.pubsub.subscribe('run', topics.run));
    if (topics.log !== undefined) listen(this.pubsub.subscribe('log', topics.log));
    if (topics.dags) listen(this.pubsub.subscribe('dags'));
    if (topics.runStates) listen(this.pubsub.subscribe('runStates'));
    try {
      await this.listening();
    } catch (e) {
      inbox.close();
      throw e;
    }
    return inbox;
  }

  /**
   * Hears every notification on every channel, for this process's own components (the
   * scheduler wakes on them), over the same LISTEN connection as the subscriptions: no
   * limit applies. After a reconnection the listener hears `resync` (notifications sent
   * meanwhile are lost). Resolves once listening (throws when the database cannot be
   * reached); the function it returns stops listening.
   */
  async watch(listener: (event: WatchedEvent) => void): Promise<() => void> {
    if (this.closed) throw new UpdraftError('SERVICE_UNAVAILABLE', 'The server is shutting down', { httpStatus: 503 });
    this.watchers.add(listener);
    try {
      await this.listening();
    } catch (e) {
      this.watchers.delete(listener);
      throw e;
    }
    return () => this.watchers.delete(listener);
  }

  /** Ends every subscription and closes the LISTEN connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const inbox of [...this.inboxes]) inbox.close();
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Resolves once the LISTEN connection listens (connecting it if need be). */
  private listening(): Promise<void> {
    if (this.client) return Promise.resolve();
    return (this.connecting ??= this.connect().finally(() => (this.connecting = undefined)));
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, application_name: LISTENER_APPLICATION_NAME, keepAlive: true });
    let lost = false;
    const onLost = (e?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.closed) return;
      if (this.inboxes.size > 0 || e) this.warn(`live updates: the LISTEN connection was lost${e ? ` (${e.message})` : ''}; reconnecting`);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
    try {
      await client.connect();
      await client.query(Object.values(CHANNELS).map((channel) => `LISTEN ${client.escapeIdentifier(channel)}`).join('; '));
    } catch (e) {
      lost = true; // not listening yet: whoever connects decides what to do
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    const reconnected = this.wasListening;
    this.client = client;
    this.failures = 0;
    this.wasListening = true;
    // Whatever was notified while no connection listened is lost: subscribers read anew.
    if (reconnected) {
      for (const inbox of this.inboxes) inbox.resync();
      for (const watcher of this.watchers) watcher({ kind: 'resync' });
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = Math.min((this.opts.reconnectMs ?? 100) * 2 ** this.failures, this.opts.reconnectMaxMs ?? 5_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listening().catch((e: unknown) => {
        this.failures++;
        if (!isConnectionError(e)) this.warn(`live updates: could not LISTEN: ${coerceError(e).message}`);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(channel: string, payload: string): void {
    let event: WatchedEvent | undefined;
    if (channel === CHANNELS.run) {
      const n = parseRunNotification(payload);
      if (n) {
        const heard: LiveEvent = { kind: 'run', n };
        this.pubsub.publish('run', n.run, heard);
        if (n.state !== undefined) this.pubsub.publish('runStates', heard);
        event = heard;
      }
    } else if (channel === CHANNELS.log) {
      const n = parseLogNotification(payload);
      if (n) this.pubsub.publish('log', n.try, (event = { kind: 'log', n }));
    } else if (channel === CHANNELS.dags) {
      this.pubsub.publish('dags', (event = { kind: 'dags', n: parseDagsNotification(payload) }));
    } else if (channel === CHANNELS.asset) {
      event = { kind: 'assets' };
    }
    if (event) for (const watcher of this.watchers) watcher(event);
  }
}

/**
 * What one subscriber heard and has not taken yet: at most `max` events (past them it only
 * notes that it overflowed, and the subscriber reads anew), plus whether it must resync.
 * Bounded whatever the subscriber's client does: one that never reads holds no more.
 */
export class Inbox {
  private events: LiveEvent[] = [];
  private overflowed = false;
  private resyncing = false;
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly max: number,
    private readonly onClose: () => void,
  ) {}

  /** Closed: by the subscriber (it ended) or by the server (shutting down). */
  get closed(): boolean {
    return this.ended;
  }

  add(event: LiveEvent): void {
    if (this.ended) return;
    if (this.events.length < this.max) this.events.push(event);
    else this.overflowed = true;
    this.notify();
  }

  /** Notifications may have been lost: the subscriber must read anew. */
  resync(): void {
    this.resyncing = true;
    this.notify();
  }

  /** Resolves when there is something to take, or the inbox is closed. */
  async wait(): Promise<void> {
    if (this.ended || this.events.length > 0 || this.overflowed || this.resyncing) return;
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /**
   * Everything heard since the last take. `overflowed`: more was heard than kept (read
   * anew what the events would have named); `resync`: notifications may have been lost
   * while the LISTEN connection was down.
   */
  take(): { events: LiveEvent[]; overflowed: boolean; resync: boolean } {
    const taken = { events: this.events, overflowed: this.overflowed, resync: this.resyncing };
    this.events = [];
    this.overflowed = false;
    this.resyncing = false;
    return taken;
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.events = [];
    this.notify();
    this.onClose();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** An event target with no listener limit: a topic has one listener per subscriber, and maxSubscriptions bounds them. */
function manyListeners(target: EventTarget): EventTarget {
  setMaxListeners(0, target);
  return target;
}
