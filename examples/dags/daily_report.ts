import { context, dag, task } from '@updraft/sdk';

// A scheduled DAG: three extracts run in parallel (one task called three times), their
// results are joined, and a last task runs after the report without taking its value.

interface Sale {
  region: string;
  amount: number;
}

const extractSales = task(
  { id: 'extract_sales', retries: 3, retryDelay: '2s', retryExponentialBackoff: true },
  async (region: string): Promise<Sale[]> => {
    context().log.info('extracting', { region });
    return [
      { region, amount: 100 * region.length },
      { region, amount: 42 },
    ];
  },
);

const total = task('total', (...batches: Sale[][]) => batches.flat().reduce((sum, sale) => sum + sale.amount, 0));

const report = task('report', (amount: number) => {
  const { logicalDate, conf } = context();
  const title = typeof conf.title === 'string' ? conf.title : 'Sales';
  const line = `${title} for ${logicalDate.toISOString().slice(0, 10)}: ${amount}`;
  context().log.info(line);
  return line;
});

const publish = task('publish', () => {
  context().log.info('report published');
});

export default dag(
  {
    id: 'daily_report',
    description: 'Parallel extracts, a join and a report, every day at midnight UTC',
    schedule: '@daily',
    defaultArgs: { retries: 1, timeout: '1m' },
    tags: ['example'],
  },
  () => {
    const batches = ['emea', 'amer', 'apac'].map((region) => extractSales(region));
    const line = report(total(...batches));
    publish().after(line);
  },
);
