-- A connection a task asks for (task-secrets.ts); its password and extra are still encrypted here.
-- $1 connection id
SELECT type, host, port, login, encrypted_password, schema, encrypted_extra FROM connection WHERE id = $1
