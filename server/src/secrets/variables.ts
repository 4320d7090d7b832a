// Variables (Airflow's): named values tasks read at run time with `variable(key)`. A secret
// variable's value is stored only encrypted and is write-only: the API never returns it,
// tasks read it (and their logs mask it).
import type { Db } from '../db/prisma.js';
import { badInput, notFound } from '../errors.js';
import { MAX_DESCRIPTION_LENGTH, textProblem, variableKeyProblem, variableValueProblem } from './input.js';
import type { SecretKey } from './key.js';
import { isSensitiveName } from './masking.js';

/** What `setVariable` stores. */
export interface VariableInput {
  key: string;
  value: string;
  /** Default: whether the key looks sensitive (`api_token`, `db_password`…; see isSensitiveName). */
  isSecret?: boolean | null;
  description?: string | null;
}

/** The authenticated-data context a secret variable's ciphertext is bound to. */
export const variableContext = (key: string) => `variable:${key}`;

/** Refuses a key that cannot name a variable (BAD_USER_INPUT). */
export function checkVariableKey(key: string): void {
  const problem = variableKeyProblem(key);
  if (problem) throw badInput(problem);
}

/**
 * Creates or replaces a variable (value, secret flag and description). A secret value is
 * sealed with the key that `secretKey` gives, which is only asked for then.
 */
export async function setVariable(prisma: Db, input: VariableInput, secretKey: () => SecretKey): Promise<{ key: string; isSecret: boolean }> {
  checkVariableKey(input.key);
  const problem = variableValueProblem(input.value) ?? (input.description == null ? null : textProblem('description', input.description, MAX_DESCRIPTION_LENGTH));
  if (problem) throw badInput(problem);
  const isSecret = input.isSecret ?? isSensitiveName(input.key);
  const stored = isSecret
    ? { value: null, encryptedValue: new Uint8Array(secretKey().seal(input.value, variableContext(input.key))), isSecret }
    : { value: input.value, encryptedValue: null, isSecret };
  const data = { ...stored, description: input.description ?? null };
  await prisma.variable.upsert({ where: { key: input.key }, create: { key: input.key, ...data }, update: data, select: { key: true } });
  return { key: input.key, isSecret };
}

/** Deletes a variable; NOT_FOUND when there is none. */
export async function deleteVariable(prisma: Db, key: string): Promise<void> {
  checkVariableKey(key);
  const { count } = await prisma.variable.deleteMany({ where: { key } });
  if (count === 0) throw notFound(`Variable "${key}" does not exist`);
}
