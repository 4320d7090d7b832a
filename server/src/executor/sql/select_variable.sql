-- A variable a task asks for (task-secrets.ts); a secret one's value is still encrypted here.
-- $1 key
SELECT value, encrypted_value, is_secret FROM variable WHERE key = $1
