-- Starts the queued runs of a DAG that have a free slot, oldest logical date first: runs
-- outside backfills up to the DAG's maxActiveRuns (none while it is paused), the runs of each
-- backfill up to the backfill's maxActiveRuns (none once it is cancelled). The caller holds
-- the DAG's row lock (select_dag_state.sql), so counts and starts do not race.
-- $1 dag id, $2 the DAG's max active runs, $3 whether the DAG is paused
WITH running AS (
  SELECT backfill_id, count(*)::int AS n FROM dag_run WHERE dag_id = $1 AND state = 'running' GROUP BY backfill_id
), ranked AS (
  SELECT id, backfill_id, row_number() OVER (PARTITION BY backfill_id ORDER BY logical_date, id) AS rank
  FROM dag_run WHERE dag_id = $1 AND state = 'queued'
), chosen AS (
  SELECT ranked.id
  FROM ranked
  LEFT JOIN backfill b ON b.id = ranked.backfill_id
  LEFT JOIN running ON running.backfill_id IS NOT DISTINCT FROM ranked.backfill_id
  WHERE ranked.rank <= CASE
      WHEN ranked.backfill_id IS NULL THEN CASE WHEN $3::boolean THEN 0 ELSE $2::int END
      ELSE CASE WHEN b.cancelled_at IS NULL THEN b.max_active_runs ELSE 0 END
    END - coalesce(running.n, 0)
)
UPDATE dag_run r SET state = 'running', started_at = clock_timestamp()
FROM chosen
WHERE r.id = chosen.id AND r.state = 'queued'
RETURNING r.id, r.dag_version_id
