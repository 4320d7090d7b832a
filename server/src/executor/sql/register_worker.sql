-- $1 worker id, $2 hostname, $3 pid, $4 concurrency
INSERT INTO worker (id, hostname, pid, concurrency) VALUES ($1, $2, $3, $4)
