import { readFileSync } from 'node:fs';
import type { ClientBase, Pool, QueryResultRow } from 'pg';

/**
 * The executor's statements (the hot path, and the operator actions that change the same
 * rows under the same locks), one file each in ./sql, run as named prepared statements.
 * Everything else goes through Prisma.
 */
const NAMES = [
  'claim_task_instances',
  'select_first_try_start',
  'select_dag_version',
  'select_dag_versions',
  'select_bundle',
  'select_xcom_args',
  'insert_xcom_items',
  'finish_try',
  'abandon_try',
  'append_try_logs',
  'select_try_log_text',
  'mask_try_logs',
  'lock_task_instances',
  'count_upstream_outcomes',
  'set_task_states',
  'enqueue_task_instances',
  'add_deferred_job',
  'select_map_sources',
  'expand_task_instance',
  'add_upstream_instances',
  'fail_task_instance',
  'select_scheduled_instances',
  'lock_dag_run',
  'finish_dag_run',
  'select_dag_state',
  'create_dag_run',
  'create_task_instances',
  'register_worker',
  'heartbeat_worker',
  'select_scheduled_dags',
  'select_lost_tries',
  'mark_workers_lost',
  'unlock_jobs',
  'delete_lost_jobs',
  'release_stalled_jobs',
  'count_live_workers',
  'heartbeat_scheduler',
  'count_live_schedulers',
  'lock_run_task_instances',
  'clear_task_instances',
  'recount_upstream_outcomes',
  'mark_task_instances',
  'reopen_dag_run',
  'cancel_dag_run',
  'mark_dag_run',
  'select_dag_run',
  'select_variable',
  'select_connection',
  'count_running_runs',
  'has_queued_runs',
  'start_queued_runs',
  'select_root_instances',
  'requeue_dag_run',
  'lock_scheduled_dag',
  'select_last_scheduled_run',
  'set_next_dagrun',
  'select_dags_with_queued_runs',
  'create_backfill',
  'set_backfill_runs_created',
  'select_runs_at',
  'cancel_backfill',
  'select_run_instances',
  'record_asset_events',
  'select_asset_queue',
  'consume_asset_queue',
  'record_webhook_delivery',
  'select_capacity_scope',
  'lock_pools',
  'lock_dag_limits',
  'select_capacity_usage',
  'select_waiting_instances',
  'admit_task_instances',
  'select_waiting_pools',
  'delete_jobs',
] as const;

export type StatementName = (typeof NAMES)[number];

const TEXT = Object.fromEntries(
  NAMES.map((name) => [name, readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8')]),
) as Record<StatementName, string>;

export async function sql<R extends QueryResultRow>(client: ClientBase | Pool, name: StatementName, values: unknown[]): Promise<R[]> {
  const result = await client.query<R>({ name: `updraft_${name}`, text: TEXT[name], values });
  return result.rows;
}
