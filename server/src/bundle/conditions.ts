/**
 * The export condition of the workspace packages' TypeScript sources, used when the server
 * itself runs from its sources (the test suite, `tsx` scripts): DAG folders and plugins are then
 * bundled from the packages' sources too, so an edit needs no rebuild. Compiled, it is null and
 * packages are bundled from their published entries (dist/).
 */
export const SOURCE_CONDITION: string | null = import.meta.url.endsWith('.ts') ? '@updraft/source' : null;

/** esbuild's `conditions`: its defaults (undefined), plus SOURCE_CONDITION when there is one. */
export const ESBUILD_CONDITIONS: string[] | undefined = SOURCE_CONDITION ? [SOURCE_CONDITION, 'module'] : undefined;
