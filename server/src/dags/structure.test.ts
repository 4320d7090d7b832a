import { branch, dag, task } from '@updraft/sdk';
import { describe, expect, it } from 'vitest';
import { DagValidationError, findCycle, validateStructure } from './structure.js';
import { upgradeStructure } from './versions.js';

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

describe('validateStructure, mapped tasks', () => {
  const each = task('each', (n: number) => n);
  const numbers = task('numbers', () => [1, 2]);

  function problems(raw: unknown): string[] {
    try {
      validateStructure(raw, 'file.ts');
    } catch (e) {
      if (e instanceof DagValidationError) return e.problems;
      throw e;
    }
    return [];
  }

  it('keeps what a task maps over, with the mapping limits', () => {
    const structure = validateStructure(dag({ id: 'm', defaultArgs: { maxActiveTisPerTask: 3 } }, () => void each.map(numbers())).toStructure(), 'file.ts');
    expect(structure.tasks[1]).toMatchObject({
      id: 'each',
      upstreamIds: ['numbers'],
      args: [],
      map: { sources: [{ xcom: { taskId: 'numbers', key: 'return_value' } }], zip: false },
      maxMapLength: 100_000,
      maxActiveTisPerTask: 3,
    });
  });

  it('refuses mapped branches, literal lists over maxMapLength, limits out of range and lists of tasks that are not upstream', () => {
    const pick = branch('pick', (n: number) => (n > 1 ? 'a' : null));
    expect(problems(dag({ id: 'm' }, () => void pick.map([1, 2])).toStructure())).toEqual(['DAG "m", task "pick": a branch task cannot be mapped']);
    expect(problems(dag({ id: 'm', defaultArgs: { maxMapLength: 2 } }, () => void each.map([1, 2, 3])).toStructure())).toEqual([
      'DAG "m", task "each": maps over a list of 3 items; maxMapLength is 2',
    ]);
    expect(problems(dag({ id: 'm' }, () => void task({ id: 'big', maxMapLength: 2_000_000 }, (n: number) => n).map([1])).toStructure())).toEqual([
      'DAG "m": task "big": maxMapLength: must be at most 1,000,000',
    ]);
    const raw = dag({ id: 'm' }, () => void each.map(numbers())).toStructure();
    raw.tasks[1]!.upstreamIds = [];
    expect(problems(raw)).toEqual(['DAG "m", task "each": maps over task "numbers", which is not one of its upstream tasks']);
    raw.tasks[1]!.map = { sources: [{ value: [1] }, { value: [2] }], zip: false };
    expect(problems(raw)).toEqual(['DAG "m": task "each": map: maps over one list unless zipped']);
  });

  it('upgrades structures stored before mapping with its defaults', () => {
    const current = validateStructure(dag({ id: 'm' }, () => void numbers()).toStructure(), 'file.ts');
    const { maxMapLength: _l, maxActiveTisPerTask: _a, ...before } = current.tasks[0]!;
    expect(upgradeStructure({ ...current, format: 3, tasks: [before] } as never)).toEqual(current);
  });
});

describe('validateStructure, owners', () => {
  const step = task('step', () => 1);
  const mine = task({ id: 'mine', owner: 'ana' }, () => 1);

  it('takes each task’s owner from the task, else from the DAG’s defaultArgs; without either the task has none', () => {
    const owned = validateStructure(dag({ id: 'o', defaultArgs: { owner: 'data-team' } }, () => void [step(), mine()]).toStructure(), 'file.ts');
    expect(owned.tasks.map((t) => [t.id, t.owner])).toEqual([['step', 'data-team'], ['mine', 'ana']]);
    const unowned = validateStructure(dag({ id: 'o' }, () => void step()).toStructure(), 'file.ts');
    // No key at all: a structure without owners hashes as it did before owners existed.
    expect(Object.keys(unowned.tasks[0]!)).not.toContain('owner');
  });

  it('refuses an empty owner', () => {
    expect(() => validateStructure(dag({ id: 'o', defaultArgs: { owner: ' ' } }, () => void step()).toStructure(), 'file.ts')).toThrow('DAG "o": defaultArgs.owner: must not be empty');
  });
});

describe('validateStructure, capacity options', () => {
  const work = task('work', () => 1);

  it('keeps queue, pool, poolSlots and maxActiveTasks, with effective weights (downstream by default, from defaultArgs)', () => {
    const big = task({ id: 'big', pool: 'gpu', poolSlots: 2, queue: 'gpu', priorityWeight: 10, weightRule: 'absolute' }, () => 1);
    const after = task('after', (n: number) => n);
    const raw = dag({ id: 'c', maxActiveTasks: 4, defaultArgs: { priorityWeight: 2 } }, () => {
      after(work());
      big();
    }).toStructure();
    const structure = validateStructure(raw, 'file.ts');
    expect(structure.maxActiveTasks).toBe(4);
    expect(structure.tasks.find((t) => t.id === 'big')).toMatchObject({ queue: 'gpu', pool: 'gpu', poolSlots: 2, priorityWeight: 10 });
    expect(structure.tasks.find((t) => t.id === 'work')).toMatchObject({ priorityWeight: 4 });
    expect(structure.tasks.find((t) => t.id === 'after')).toMatchObject({ priorityWeight: 2 });
    expect(structure.tasks.find((t) => t.id === 'work')).not.toHaveProperty('pool');
  });

  it('refuses bad pool and queue names, slots and weight rules, naming the task', () => {
    const bad = task({ id: 'bad', pool: 'no spaces', queue: '', poolSlots: 0, weightRule: 'sideways' as never, priorityWeight: 1.5 }, () => 1);
    let problems: string[] = [];
    try {
      validateStructure(dag({ id: 'b', maxActiveTasks: 0 }, () => void bad()).toStructure(), 'file.ts');
    } catch (e) {
      problems = (e as DagValidationError).problems;
    }
    expect(problems).toEqual([
      'DAG "b": maxActiveTasks: must be 1 or more',
      'DAG "b": task "bad": queue: must be 1-100 letters, digits, "_", "-" or "."',
      'DAG "b": task "bad": pool: must be 1-100 letters, digits, "_", "-" or "."',
      'DAG "b": task "bad": poolSlots: must be 1 or more',
      'DAG "b": task "bad": priorityWeight: must be a whole number',
      'DAG "b": task "bad": weightRule: must be "downstream", "upstream" or "absolute"',
    ]);
  });
});
