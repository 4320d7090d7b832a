/**
 * The part of the Standard Schema interface (implemented by zod 4, valibot, arktype…) that
 * operators use to validate their params: the SDK checks params with any such library and
 * depends on none.
 */
export interface ParamsValidator<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => ValidationResult<Output> | Promise<ValidationResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** What a validator returns: the parsed value, or the issues found. */
export type ValidationResult<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<ValidationIssue> };

/** One problem a validator found, with where it is (`path`). */
export interface ValidationIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The type a validator accepts. */
export type InputOf<S extends ParamsValidator> = NonNullable<S['~standard']['types']>['input'];
/** The type a validator returns (with defaults filled in). */
export type OutputOf<S extends ParamsValidator> = NonNullable<S['~standard']['types']>['output'];

/** `issues` as one line: `command: expected array, received number; env.HOME: …`. */
export function describeIssues(issues: ReadonlyArray<ValidationIssue>): string {
  return issues
    .slice(0, 10)
    .map((issue) => {
      const path = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ') + (issues.length > 10 ? `; and ${issues.length - 10} more` : '');
}
