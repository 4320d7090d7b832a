// The trigger form's fields, from a DAG's params JSON Schema (what zod's toJSONSchema writes:
// an object with properties, required, defaults, enums, bounds), and their checks. The server
// checks conf against the same schema again; this only catches mistakes before sending.

export interface ParamField {
  name: string;
  kind: 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';
  required: boolean;
  description: string | null;
  default: unknown;
  options: unknown[];
  schema: JsonSchema;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

export function paramFields(schema: unknown): ParamField[] {
  const s = schema as JsonSchema | null;
  if (!s || typeof s !== 'object' || !s.properties) return [];
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties).map(([name, p]) => {
    const type = Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
    const kind: ParamField['kind'] = p.enum ? 'enum' : type === 'string' || type === 'number' || type === 'integer' || type === 'boolean' ? type : 'json';
    // zod marks fields with defaults as required in its input schema only when no default exists.
    return { name, kind, required: required.has(name) && p.default === undefined, description: p.description ?? null, default: p.default, options: p.enum ?? [], schema: p };
  });
}

/** The text an input starts with for a field. */
export function initialText(field: ParamField): string {
  if (field.default === undefined) return field.kind === 'boolean' ? 'false' : '';
  if (field.kind === 'json' || field.kind === 'enum') return JSON.stringify(field.default);
  return String(field.default);
}

/**
 * The conf to send, or the mistakes by field name. An empty optional field is left out (the
 * DAG's default applies).
 */
export function buildConf(fields: ParamField[], texts: Record<string, string>): { conf: Record<string, unknown> } | { errors: Record<string, string> } {
  const conf: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = (texts[field.name] ?? '').trim();
    if (text === '') {
      if (field.required) errors[field.name] = 'Required';
      continue;
    }
    const parsed = parseValue(field, text);
    if ('error' in parsed) {
      errors[field.name] = parsed.error;
      continue;
    }
    const problem = check(field.schema, parsed.value);
    if (problem) errors[field.name] = problem;
    else conf[field.name] = parsed.value;
  }
  return Object.keys(errors).length > 0 ? { errors } : { conf };
}

function parseValue(field: ParamField, text: string): { value: unknown } | { error: string } {
  switch (field.kind) {
    case 'string':
      return { value: text };
    case 'boolean':
      return text === 'true' || text === 'false' ? { value: text === 'true' } : { error: 'Must be true or false' };
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: `Must be a number, not “${text.slice(0, 40)}”` };
      if (field.kind === 'integer' && !Number.isInteger(n)) return { error: 'Must be a whole number' };
      return { value: n };
    }
    default:
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { error: 'Must be JSON (strings in double quotes)' };
      }
  }
}

function check(s: JsonSchema, v: unknown): string | null {
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) return `Must be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return `Must be at least ${s.minimum}`;
    if (s.maximum !== undefined && v > s.maximum) return `Must be at most ${s.maximum}`;
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return `Must be more than ${s.exclusiveMinimum}`;
    if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) return `Must be less than ${s.exclusiveMaximum}`;
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength) return `Must have at least ${s.minLength} characters`;
    if (s.maxLength !== undefined && v.length > s.maxLength) return `Must have at most ${s.maxLength} characters`;
    if (s.pattern !== undefined) {
      try {
        if (!new RegExp(s.pattern, 'u').test(v)) return `Must match ${s.pattern}`;
      } catch {
        // A pattern JavaScript cannot read: the server decides.
      }
    }
  }
  return null;
}
