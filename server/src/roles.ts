// The API's roles, in a module of their own so that the CLI can name them without loading
// the API (auth.ts re-exports them).
/**
 * Airflow's roles, weakest first; each may do what the ones before it may:
 * - `viewer` reads everything (secrets excepted);
 * - `user` also triggers, clears, marks, cancels runs and pauses DAGs;
 * - `op` also manages variables, connections and pools, and reads the audit log;
 * - `admin` also manages API tokens and deletes DAGs.
 */
export const ROLES = ['viewer', 'user', 'op', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
