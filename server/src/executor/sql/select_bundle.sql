-- $1 bundle hash
SELECT code FROM bundle WHERE hash = $1
