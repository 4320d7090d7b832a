// How much one try may log: the defaults, shared by the worker and the configuration.

/** Lines a try may log by default; past them one line says how many more were dropped. */
export const MAX_LOG_LINES = 10_000;
/** Bytes a try may log by default (messages and fields, UTF-8); past them as past MAX_LOG_LINES. */
export const MAX_LOG_BYTES = 5 * 1024 * 1024;
/** A longer message is cut to this many characters (a 20 MB line is one 64 KB line). */
export const MAX_LOG_MESSAGE = 64 * 1024;

/**
 * How much one try may log (a worker setting: `--log-max-lines`, `--log-max-bytes`,
 * UPDRAFT_LOG_MAX_LINES, UPDRAFT_LOG_MAX_BYTES). Past either cap, lines are only counted and
 * one last line, the truncation marker, says how many were dropped. The caps bound what a
 * try costs the worker (lines wait in memory until written) and the database.
 */
export interface LogLimits {
  maxLines: number;
  maxBytes: number;
}
export const DEFAULT_LOG_LIMITS: LogLimits = { maxLines: MAX_LOG_LINES, maxBytes: MAX_LOG_BYTES };
