-- Live updates: the DAG list tells its changes on the `updraft_dags` channel, whoever makes
-- them (a deploy, a pause, an import error, an operator's own SQL). One notification per
-- statement, naming the DAGs it changed (or "dags": null when their ids would not fit in a
-- payload); identical ones in a transaction are sent once. These tables change at deploys
-- and by hand, never on the hot path; runs and task instances notify from the executor's
-- own statements instead (server/src/live/notifications.ts).

CREATE FUNCTION "updraft_notify_dags"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM changed_dags) THEN
    RETURN NULL;
  END IF;
  SELECT json_build_object('dags', json_agg(id ORDER BY id))::text INTO payload FROM (SELECT DISTINCT id FROM changed_dags) d;
  IF octet_length(payload) > 7900 THEN
    payload := '{"dags":null}';
  END IF;
  PERFORM pg_notify('updraft_dags', payload);
  RETURN NULL;
END
$$;

CREATE TRIGGER "dag_inserted_notify" AFTER INSERT ON "dag" REFERENCING NEW TABLE AS changed_dags
  FOR EACH STATEMENT EXECUTE FUNCTION "updraft_notify_dags"();
CREATE TRIGGER "dag_updated_notify" AFTER UPDATE ON "dag" REFERENCING NEW TABLE AS changed_dags
  FOR EACH STATEMENT EXECUTE FUNCTION "updraft_notify_dags"();
CREATE TRIGGER "dag_deleted_notify" AFTER DELETE ON "dag" REFERENCING OLD TABLE AS changed_dags
  FOR EACH STATEMENT EXECUTE FUNCTION "updraft_notify_dags"();

CREATE FUNCTION "updraft_notify_import_errors"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('updraft_dags', '{"importErrors":true}');
  RETURN NULL;
END
$$;

CREATE TRIGGER "import_error_changed_notify" AFTER INSERT OR UPDATE OR DELETE ON "import_error"
  FOR EACH STATEMENT EXECUTE FUNCTION "updraft_notify_import_errors"();
