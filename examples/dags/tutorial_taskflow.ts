import { context, dag, task } from '@updraft/sdk';

// Airflow's TaskFlow tutorial: extract an order summary, total it, load the result.
// Each task receives the previous one's return value; the values travel as JSON.

const extract = task('extract', () => {
  const orders = '{"1001": 301.27, "1002": 433.21, "1003": 502.22}';
  return JSON.parse(orders) as Record<string, number>;
});

const transform = task('transform', (orders: Record<string, number>) => {
  const total = Object.values(orders).reduce((sum, value) => sum + value, 0);
  return { total_order_value: Math.round(total * 100) / 100 };
});

const load = task('load', (summary: { total_order_value: number }) => {
  context().log.info(`Total order value is: ${summary.total_order_value.toFixed(2)}`, summary);
  return summary.total_order_value;
});

export default dag({ id: 'tutorial_taskflow', description: "Airflow's TaskFlow tutorial: extract, transform, load", tags: ['example'] }, () => {
  load(transform(extract()));
});
