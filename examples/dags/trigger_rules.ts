import { context, dag, NonRetryableError, SkipError, task } from '@updraft/sdk';

// Trigger rules: what runs after a failure or a skip. `load` fails when the run's conf says
// so (`--conf '{"fail": true}'`); `cleanup` runs whatever happened (all_done), `alert`
// only when something failed (one_failed), `publish` only when everything succeeded
// (the default, all_success). With failRunOnAnyFailure the run fails when `load` does,
// even though the `cleanup` leaf succeeds.

const extract = task('extract', () => [3, 1, 2]);

const load = task('load', (rows: number[]) => {
  if (context().conf.fail === true) throw new NonRetryableError('the warehouse refused the rows');
  return rows.length;
});

const audit = task('audit', () => {
  if (context().conf.audit === false) throw new SkipError('auditing is turned off for this run');
  return 'audited';
});

const publish = task('publish', (loaded: number) => `published ${loaded} rows`);
const cleanup = task({ id: 'cleanup', triggerRule: 'all_done' }, () => 'temporary files removed');
const alert = task({ id: 'alert', triggerRule: 'one_failed' }, () => {
  context().log.warn('paging the on-call engineer');
});

export default dag({ id: 'trigger_rules', description: 'all_done, one_failed and skips', failRunOnAnyFailure: true, tags: ['example'] }, () => {
  const loaded = load(extract());
  const audited = audit().after(loaded);
  publish(loaded).after(audited);
  cleanup().after(loaded, audited);
  alert().after(loaded, audited);
});
