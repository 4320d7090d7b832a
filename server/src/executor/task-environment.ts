/**
 * The environment task code gets: the worker's, without what opens the metadata
 * database (DATABASE_URL, PG*, UPDRAFT_*, and any variable whose value holds the
 * database URL or password). This is the first layer, not the last: see ARCHITECTURE.md.
 */
export function taskEnvironment(databaseUrl: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  let password = '';
  try {
    password = decodeURIComponent(new URL(databaseUrl).password);
  } catch {
    // not a URL: nothing more to hide
  }
  const secrets = [databaseUrl, password].filter((s) => s.length >= 4);
  const result: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === 'DATABASE_URL' || name.startsWith('PG') || name.startsWith('UPDRAFT_') || name === 'NODE_OPTIONS') continue;
    if (secrets.some((s) => value.includes(s))) continue;
    result[name] = value;
  }
  return result;
}
