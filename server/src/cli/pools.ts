import { InvalidArgumentError, type Command } from 'commander';
import type { ApiClient } from './client.js';

/** What `updraft pools` needs from the CLI's main module: talking to the API, printing rows. */
export interface PoolCommandDeps {
  remote(command: Command): Command;
  withClient(opts: object, fn: (client: ApiClient) => Promise<void>): Promise<void>;
  printTable(header: string[], rows: string[][]): void;
}

interface PoolRow {
  name: string;
  slots: number | null;
  description: string | null;
  usage: { occupiedSlots: number; waitingInstances: number; openSlots: number | null };
}

const POOL_FIELDS = 'name slots description usage { occupiedSlots waitingInstances openSlots }';

/** A pool size as typed: a whole number, or `unlimited` (null). */
export function poolSlots(value: string): number | null {
  if (value === 'unlimited') return null;
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('must be a whole number of slots (0 or more) or "unlimited"');
  return Number(value);
}

/** `updraft pools list | set NAME SLOTS | delete NAME`, through the API (op for set and delete). */
export function addPoolCommands(program: Command, deps: PoolCommandDeps): void {
  const pools = program.command('pools').description('List, set and delete pools: slots shared by all workers (op to change)');

  deps
    .remote(pools.command('list').description('List pools with the slots their task instances hold and the instances waiting'))
    .action(async (opts: object) =>
      deps.withClient(opts, async (client) => {
        const data = await client.request<{ pools: { edges: Array<{ node: PoolRow }> } }>(`query { pools(first: 1000) { edges { node { ${POOL_FIELDS} } } } }`);
        deps.printTable(
          ['pool', 'slots', 'occupied', 'open', 'waiting', 'description'],
          data.pools.edges.map(({ node }) => [
            node.name,
            node.slots === null ? 'unlimited' : String(node.slots),
            String(node.usage.occupiedSlots),
            node.usage.openSlots === null ? '-' : String(node.usage.openSlots),
            String(node.usage.waitingInstances),
            node.description ?? '-',
          ]),
        );
      }),
    );

  deps
    .remote(
      pools
        .command('set <name> <slots>')
        .description('Create or resize a pool: SLOTS is a whole number (0 holds its tasks back) or "unlimited"; waiting tasks start at once if it has room')
        .option('--description <text>', 'what the pool is for'),
    )
    .action(async (name: string, slotsText: string, opts: { description?: string }) => {
      const slots = poolSlots(slotsText);
      await deps.withClient(opts, async (client) => {
        const { setPool } = await client.request<{ setPool: { pool: PoolRow } }>(
          `mutation ($input: SetPoolInput!) { setPool(input: $input) { pool { ${POOL_FIELDS} } } }`,
          { input: { name, slots, description: opts.description } },
        );
        const p = setPool.pool;
        console.log(`Pool ${p.name}: ${p.slots === null ? 'unlimited' : `${p.slots} slot${p.slots === 1 ? '' : 's'}`} (${p.usage.occupiedSlots} occupied, ${p.usage.waitingInstances} waiting)`);
      });
    });

  deps
    .remote(pools.command('delete <name>').description('Delete a pool (not default_pool); its waiting task instances wait until it is set again'))
    .action(async (name: string, opts: object) =>
      deps.withClient(opts, async (client) => {
        await client.request(`mutation ($input: DeletePoolInput!) { deletePool(input: $input) { name } }`, { input: { name } });
        console.log(`Deleted pool ${name}`);
      }),
    );
}
