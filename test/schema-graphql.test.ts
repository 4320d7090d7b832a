// schema.graphql is the API's schema as the code builds it, committed for clients and review;
// and every type, field, argument and enum value of it says what it is.
import fs from 'node:fs/promises';
import { isEnumType, isInputObjectType, isInterfaceType, isIntrospectionType, isObjectType, isScalarType, isSpecifiedScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printApiSchema, SCHEMA_FILE } from '../server/src/api/print-schema.js';
import { schema } from '../server/src/api/schema/index.js';

describe('schema.graphql', () => {
  it('is what the code builds', async () => {
    const committed = await fs.readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    // One clear line rather than a diff of thousands: the fix is always the same.
    if (committed !== printApiSchema()) expect.fail('schema.graphql differs from the schema the code builds: run `npm run schema` and commit schema.graphql');
  });

  it('describes every type, field, argument and enum value', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || (isScalarType(type) && isSpecifiedScalarType(type))) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing, 'these lack a description').toEqual([]);
  });
});
