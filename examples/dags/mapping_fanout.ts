import { z } from 'zod';
import { dag, params, task } from '@updraft/sdk';

// Dynamic task mapping: `numbers` decides at run time how many items there are, `echo` runs
// once per item (1,000 instances by default, each with its own mapIndex, state, tries and
// logs), and `sum` receives every instance's value, in item order, as one array.
// Try it: `npx updraft dags trigger mapping_fanout --wait`, or `--conf '{"count": 10}'`.

const Params = z.object({ count: z.number().int().min(0).max(100_000).default(1000) });

const numbers = task('numbers', () => Array.from({ length: params<z.infer<typeof Params>>().count }, (_, i) => i + 1));

const echo = task('echo', (n: number) => n);

const sum = task('sum', (values: number[]) => values.reduce((total, n) => total + n, 0));

export default dag({ id: 'mapping_fanout', description: 'Maps a no-op over 1,000 items from an upstream task, then sums the outputs', params: Params, tags: ['example'] }, () => {
  sum(echo.map(numbers()));
});
