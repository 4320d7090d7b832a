/** Fields whose JSON would be longer than this (about; characters) are not kept: one marker field says so. */
export declare const MAX_LOG_FIELDS: number;
/** A log line's fields as plain JSON data, at a bounded cost (see log-fields.cjs). */
export declare function plainLogFields(fields: unknown): Record<string, unknown> | undefined;
