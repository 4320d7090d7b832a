-- Unlocks the jobs that lost workers' job slots had locked, so that another worker can
-- take them now rather than after graphile-worker's 4 hour lock expiry.
-- $1 graphile-worker ids of the lost workers' job slots
SELECT graphile_worker.force_unlock_workers($1::text[])
