import { branch, context, dag, latestOnly, shortCircuit, task } from '@updraft/sdk';

// Control flow: a short-circuit stops the run early when there is nothing to do, a branch
// picks one of two paths, a join runs after whichever path ran, and a notification goes
// out only from the latest scheduled run (and from manual runs).
// Try it: `npx updraft dags trigger branching --conf '{"orders": 12}' --wait`.

const countOrders = task('count_orders', () => {
  const orders = context().conf.orders;
  return typeof orders === 'number' ? orders : 3;
});

// A falsy return (0 orders) skips everything downstream.
const anyOrders = shortCircuit('any_orders', (orders: number) => orders);

const pickPath = branch('pick_path', (orders: number) => (orders > 10 ? 'bulk_ship' : 'single_ship'));

const bulkShip = task('bulk_ship', (orders: number) => `shipped ${orders} orders on one truck`);
const singleShip = task('single_ship', (orders: number) => `shipped ${orders} parcels`);

// Runs after whichever path ran: the other one is skipped, which all_success would not accept.
const summarize = task({ id: 'summarize', triggerRule: 'none_failed_min_one_success' }, () => {
  context().log.info('shipping done');
  return 'done';
});

const notify = task('notify', () => context().log.info('told the warehouse'));

export default dag({ id: 'branching', description: 'Short-circuit, branch, join and latest-only', schedule: '@daily', tags: ['example'] }, () => {
  const orders = countOrders();
  const path = pickPath(anyOrders(orders));
  const done = summarize().after(bulkShip(orders).after(path), singleShip(orders).after(path));
  notify().after(done, latestOnly());
});
