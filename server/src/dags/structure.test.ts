import { describe, expect, it } from 'vitest';
import { findCycle } from './structure.js';

const chain = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, upstreamIds: i === 0 ? [] : [`t${i - 1}`] }));

describe('findCycle', () => {
  it('finds no cycle in a 20,000-task chain (no recursion limit)', () => {
    expect(findCycle(chain(20_000))).toBeNull();
  });

  it('names the tasks on a cycle, in dependency order', () => {
    const tasks = [...chain(3), { id: 'x', upstreamIds: ['t2', 'z'] }, { id: 'y', upstreamIds: ['x'] }, { id: 'z', upstreamIds: ['y'] }];
    expect(findCycle(tasks)).toEqual(['x', 'y', 'z', 'x']);
  });

  it('finds a task that depends on itself', () => {
    expect(findCycle([{ id: 'a', upstreamIds: ['a'] }])).toEqual(['a', 'a']);
  });
});
