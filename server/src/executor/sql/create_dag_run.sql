-- Creates a DagRun on the given DAG version, `running` or `queued`. Idempotent per (dag,
-- logical date): no row when a run for that logical date exists, so schedulers may race.
-- Without a logical date (a manual run) it takes the first microsecond from now that no run
-- of the DAG has, so two triggers in the same microsecond both get a run (the 1,000
-- candidates come in order, and LIMIT 1 stops probing at the first free one). The NOT
-- EXISTS spares the id sequence: a conflicting INSERT would still draw an id.
-- $1 dag id, $2 run type, $3 conf (json text), $4 logical date (null: now), $5 dag version id,
-- $6 params (json text, null: the DAG has no params schema), $7 state (running, queued),
-- $8 / $9 data interval start / end (null: the logical date), $10 backfill id
WITH at AS (
  SELECT clock_timestamp() AS now,
         coalesce($4::timestamptz, (
           SELECT t FROM (SELECT clock_timestamp() + n * interval '1 microsecond' AS t FROM generate_series(0, 999) n ORDER BY n) c
           WHERE NOT EXISTS (SELECT 1 FROM dag_run WHERE dag_id = $1 AND logical_date = t)
           LIMIT 1
         )) AS logical_date
)
INSERT INTO dag_run (dag_id, dag_version_id, run_id, run_type, state, logical_date, data_interval_start, data_interval_end, conf, params, queued_at, started_at, backfill_id)
SELECT $1, $5, $2 || '__' || to_char(at.logical_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), $2::"DagRunType", $7::"DagRunState",
       at.logical_date, coalesce($8::timestamptz, at.logical_date), coalesce($9::timestamptz, at.logical_date), $3::jsonb, $6::jsonb, at.now,
       CASE WHEN $7::"DagRunState" = 'running' THEN at.now END, $10::int
FROM at
WHERE NOT EXISTS (SELECT 1 FROM dag_run WHERE dag_id = $1 AND logical_date = at.logical_date)
ON CONFLICT (dag_id, logical_date) DO NOTHING
RETURNING id, dag_version_id, logical_date
