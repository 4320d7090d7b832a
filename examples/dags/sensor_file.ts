import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { dag, params, sensor, task } from '@updraft/sdk';

// Waits for a file, then reads its size. The sensor runs in reschedule mode: between
// checks it frees its worker slot, so a long wait costs nothing.
// Try it: `npx updraft dags trigger sensor_file --conf '{"path": "/tmp/ready.txt"}'`,
// then `touch /tmp/ready.txt`.

const Params = z.object({ path: z.string().min(1).default('/tmp/updraft-ready.txt') });

const fileArrived = sensor({ id: 'file_arrived', mode: 'reschedule', interval: '5s', timeout: '1h' }, () => {
  const { path } = params<z.infer<typeof Params>>();
  return existsSync(path) && path;
});

const measure = task('measure', (path: string) => ({ path, bytes: statSync(path).size }));

export default dag({ id: 'sensor_file', description: 'Waits for a file (reschedule-mode sensor), then measures it', params: Params, tags: ['example'] }, () => {
  measure(fileArrived());
});
