-- Deletes graphile-worker jobs a worker made unnecessary by running their task instance
-- itself (transitions.ts, continueWith): the job of the try that handed over, and the new
-- instance's own job, added earlier in the same transaction. Uses graphile-worker's private
-- jobs table (graphile-worker is pinned to 0.17): its complete_jobs() skips locked jobs.
-- $1 job ids
DELETE FROM graphile_worker._private_jobs WHERE id = ANY($1::bigint[])
