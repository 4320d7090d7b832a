-- $1 worker id, $2 hostname, $3 pid, $4 concurrency, $5 queues
INSERT INTO worker (id, hostname, pid, concurrency, queues) VALUES ($1, $2, $3, $4, $5)
