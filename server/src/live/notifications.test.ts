import { describe, expect, it } from 'vitest';
import { Inbox } from './live-updates.js';
import { encodeRunNotification, MAX_PAYLOAD_BYTES, parseDagsNotification, parseLogNotification, parseRunNotification, RunChanges } from './notifications.js';

describe('run notifications', () => {
  it('list at most 100 task instances of a transaction, then say `more`', () => {
    const changes = new RunChanges();
    changes.instances(7, Array.from({ length: 10_000 }, (_, i) => ({ id: String(i + 1), task_id: `t${i}`, try_number: 0 })), 'queued');
    changes.run(7, 'running');
    const [n] = changes.notifications();
    expect(n!.channel).toBe('updraft_run');
    const parsed = parseRunNotification(n!.payload)!;
    expect(parsed).toMatchObject({ run: 7, state: 'running', more: true });
    expect(parsed.tis).toHaveLength(100);
    expect(parsed.tis[0]).toEqual(['1', 't0', -1, 'queued', 0]);
  });

  it('fit a payload PostgreSQL accepts, whatever the task ids', () => {
    const long = 'x'.repeat(250);
    const payload = encodeRunNotification({ run: 1, tis: Array.from({ length: 100 }, (_, i) => [String(i), `${long}é`, i, 'success', 1]) });
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const parsed = parseRunNotification(payload)!;
    expect(parsed.more).toBe(true);
    expect(parsed.tis.length).toBeGreaterThan(20);
    expect(parsed.tis.length).toBeLessThan(100);
  });

  it('are one per run, and none for a transaction that changed nothing', () => {
    const changes = new RunChanges();
    expect(changes.notifications()).toEqual([]);
    changes.instances(1, [{ id: '5', task_id: 'a', map_index: 3, try_number: 2 }], 'running');
    changes.instances(1, [{ id: '5', task_id: 'a', map_index: 3, try_number: 2 }], 'success');
    changes.more(2);
    expect(changes.notifications().map((n) => JSON.parse(n.payload))).toEqual([
      { run: 1, tis: [['5', 'a', 3, 'success', 2]] },
      { run: 2, tis: [], more: true },
    ]);
  });

  it('are read defensively: anyone may NOTIFY a channel', () => {
    expect(parseRunNotification('not json')).toBeNull();
    expect(parseRunNotification('{"run": "1", "tis": []}')).toBeNull();
    expect(parseRunNotification('{"run": 1, "tis": [[1, 2]]}')).toEqual({ run: 1, tis: [], more: true });
    expect(parseLogNotification('{"try": "9", "from": 0, "to": 3}')).toEqual({ try: '9', from: 0, to: 3 });
    expect(parseLogNotification('{"try": 9}')).toBeNull();
    expect(parseDagsNotification('{"dags": ["a"]}')).toEqual({ dags: ['a'], importErrors: false });
    expect(parseDagsNotification('{"importErrors": true}')).toEqual({ dags: [], importErrors: true });
    expect(parseDagsNotification('garbage')).toEqual({ dags: null, importErrors: false });
  });
});

describe("a subscriber's inbox", () => {
  it('keeps a bounded number of events, then only notes that it overflowed', () => {
    const inbox = new Inbox(50, () => undefined);
    for (let i = 0; i < 100_000; i++) inbox.add({ kind: 'log', n: { try: '1', from: i, to: i } });
    const taken = inbox.take();
    expect(taken.events).toHaveLength(50);
    expect(taken).toMatchObject({ overflowed: true, resync: false });
    expect(inbox.take()).toEqual({ events: [], overflowed: false, resync: false });
  });

  it('wakes its reader on an event, a resync and its close', async () => {
    let closed = 0;
    const inbox = new Inbox(10, () => closed++);
    const woken = inbox.wait();
    inbox.resync();
    await woken;
    expect(inbox.take().resync).toBe(true);
    const ended = inbox.wait();
    inbox.close();
    inbox.close();
    await ended;
    expect(inbox.closed).toBe(true);
    expect(closed).toBe(1);
  });
});
