// The migrations in prisma/migrations must produce exactly what prisma/schema.prisma declares:
// Prisma's CLI cannot diff them here (no schema engine), so this test does. It reads the
// datamodel with getDMMF (Prisma's wasm schema parser, no engine binary) and compares, table by
// table: columns (type, nullability, whether a default exists), indexes (kind, name, columns in
// order) and foreign keys (columns, target, referential actions), in both directions.
import { readFile } from 'node:fs/promises';
import internals from '@prisma/internals';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase } from './support/db.js';

// @prisma/internals is CommonJS that Node cannot statically analyse: no named ESM imports.
const { getDMMF } = internals;
type Datamodel = Awaited<ReturnType<typeof getDMMF>>['datamodel'];
type Field = Datamodel['models'][number]['fields'][number];

interface ColumnShape {
  type: string;
  nullable: boolean;
  hasDefault: boolean;
}

interface TableShape {
  columns: Record<string, ColumnShape>;
  indexes: string[];
  foreignKeys: string[];
}

let db: TestDatabase;
let client: pg.Client;
let datamodel: Datamodel;

beforeAll(async () => {
  const schema = await readFile(new URL('../prisma/schema.prisma', import.meta.url), 'utf8');
  datamodel = (await getDMMF({ datamodel: schema })).datamodel;
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('migrated database matches prisma/schema.prisma', () => {
  it('has a table per model and no other tables', async () => {
    const { rows } = await client.query<{ table: string }>(`
      SELECT schemaname || '.' || tablename AS table FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname <> 'graphile_worker'
      ORDER BY 1`);
    const expected = [...datamodel.models.map((m) => `public.${tableOf(m)}`), 'public._prisma_migrations'].sort();
    expect(rows.map((r) => r.table)).toEqual(expected);
  });

  it('has the enums with the same labels in the same order', async () => {
    const { rows } = await client.query<{ name: string; labels: string[] }>(`
      SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' GROUP BY t.typname`);
    const actual = Object.fromEntries(rows.map((r) => [r.name, r.labels]));
    const expected = Object.fromEntries(
      datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]),
    );
    expect(actual).toEqual(expected);
  });

  it('has every column, index and foreign key of every model, and nothing else', async () => {
    const actual = await describeTables(datamodel.models.map(tableOf));
    const expected = Object.fromEntries(datamodel.models.map((m) => [tableOf(m), expectedTable(m)]));
    for (const table of Object.keys(expected)) {
      expect.soft(actual[table], `table ${table}`).toEqual(expected[table]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// What the Prisma schema declares, in the shape describeTables() reads from the database.

type Model = Datamodel['models'][number];

function tableOf(model: { name: string; dbName?: string | null }): string {
  return model.dbName ?? model.name;
}

function expectedTable(model: Model): TableShape {
  const table = tableOf(model);
  const columnOf = new Map(model.fields.map((f) => [f.name, f.dbName ?? f.name]));
  const col = (field: string): string => {
    const name = columnOf.get(field);
    if (!name) throw new Error(`${model.name} has no field ${field}`);
    return name;
  };

  const columns: Record<string, ColumnShape> = {};
  for (const field of model.fields) {
    if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
    // `prisma migrate` creates scalar lists without NOT NULL, whatever the schema says.
    columns[col(field.name)] = { type: expectedType(field), nullable: field.isList || !field.isRequired, hasDefault: hasDatabaseDefault(field) };
  }

  const indexes = datamodel.indexes
    .filter((index) => index.model === model.name)
    .map((index) => {
      const cols = index.fields.map((f) => col(f.name));
      const kind = index.type === 'id' ? 'PRIMARY KEY' : index.type === 'unique' ? 'UNIQUE' : 'INDEX';
      const suffix = index.type === 'id' ? 'pkey' : index.type === 'unique' ? `${cols.join('_')}_key` : `${cols.join('_')}_idx`;
      // Prisma's default constraint names; a different name would show up as drift in `prisma migrate diff`.
      const name = index.dbName ?? `${table}_${suffix}`;
      return `${kind} ${name} (${cols.join(', ')})`;
    })
    .sort();

  const foreignKeys = model.fields
    .filter((f) => f.kind === 'object' && (f.relationFromFields?.length ?? 0) > 0)
    .map((f) => {
      const target = datamodel.models.find((m) => m.name === f.type);
      if (!target) throw new Error(`relation ${model.name}.${f.name} points to unknown model ${f.type}`);
      const targetColumn = (name: string) => target.fields.find((t) => t.name === name)?.dbName ?? name;
      const from = (f.relationFromFields ?? []).map(col);
      const to = (f.relationToFields ?? []).map(targetColumn);
      const fromRequired = (f.relationFromFields ?? []).every((name) => model.fields.find((x) => x.name === name)?.isRequired);
      // Prisma's defaults: Restrict (SetNull when optional) on delete, Cascade on update.
      const onDelete = f.relationOnDelete ?? (fromRequired ? 'Restrict' : 'SetNull');
      const onUpdate = (f as Field & { relationOnUpdate?: string }).relationOnUpdate ?? 'Cascade';
      return fkText(`${table}_${from.join('_')}_fkey`, from, tableOf(target), to, referentialAction(onDelete), referentialAction(onUpdate));
    })
    .sort();

  return { columns, indexes, foreignKeys };
}

/** The Postgres type (as information_schema spells it) Prisma maps a field to. */
function expectedType(field: Field): string {
  // information_schema says only ARRAY; the element type is checked through udt_name.
  if (field.isList) return `ARRAY ${expectedType({ ...field, isList: false })}`;
  if (field.kind === 'enum') {
    const enumDef = datamodel.enums.find((e) => e.name === field.type);
    return `USER-DEFINED ${enumDef?.dbName ?? field.type}`;
  }
  const native = field.nativeType as [string, string[]] | null | undefined;
  if (native) {
    const [name, args] = native;
    const nativeTypes: Record<string, string> = {
      Timestamptz: `timestamp with time zone(${args[0] ?? 6})`,
      Timestamp: `timestamp without time zone(${args[0] ?? 6})`,
      Text: 'text',
      Uuid: 'uuid',
      Date: 'date',
      JsonB: 'jsonb',
      Json: 'json',
      SmallInt: 'smallint',
      VarChar: `character varying(${args[0] ?? ''})`,
    };
    const type = nativeTypes[name];
    if (!type) throw new Error(`${field.name}: native type @db.${name} is not handled by this test yet; extend expectedType()`);
    return type;
  }
  const scalarTypes: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Boolean: 'boolean',
    Json: 'jsonb',
    Float: 'double precision',
    Decimal: 'numeric(65)',
    Bytes: 'bytea',
    DateTime: 'timestamp without time zone(3)',
  };
  const type = scalarTypes[field.type];
  if (!type) throw new Error(`${field.name}: Prisma type ${field.type} is not handled by this test yet; extend expectedType()`);
  return type;
}

/** Whether the column must have a DEFAULT in the database (uuid(), cuid() etc. are filled in by the client). */
function hasDatabaseDefault(field: Field): boolean {
  if (!field.hasDefaultValue) return false;
  const value = field.default as { name?: string } | undefined;
  if (value && typeof value === 'object' && 'name' in value) {
    return ['autoincrement', 'now', 'dbgenerated', 'sequence'].includes(value.name ?? '');
  }
  return true; // a literal
}

function referentialAction(action: string): string {
  const sql: Record<string, string> = {
    Cascade: 'CASCADE',
    Restrict: 'RESTRICT',
    NoAction: 'NO ACTION',
    SetNull: 'SET NULL',
    SetDefault: 'SET DEFAULT',
  };
  return sql[action] ?? `unknown action ${action}`;
}

function fkText(name: string, from: string[], target: string, to: string[], onDelete: string, onUpdate: string): string {
  return `${name} (${from.join(', ')}) REFERENCES ${target} (${to.join(', ')}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`;
}

// ---------------------------------------------------------------------------------------------
// What the database has.

async function describeTables(tables: string[]): Promise<Record<string, TableShape>> {
  const result: Record<string, TableShape> = Object.fromEntries(
    tables.map((t) => [t, { columns: {}, indexes: [], foreignKeys: [] }]),
  );
  const shape = (table: string): TableShape => {
    const found = result[table];
    if (!found) throw new Error(`unexpected table ${table}`);
    return found;
  };

  const columns = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    udt_name: string;
    datetime_precision: number | null;
    character_maximum_length: number | null;
    numeric_precision: number | null;
    is_nullable: 'YES' | 'NO';
    column_default: string | null;
  }>(
    `SELECT table_name, column_name, data_type, udt_name, datetime_precision, character_maximum_length,
            numeric_precision, is_nullable, column_default
     FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1)`,
    [tables],
  );
  for (const c of columns.rows) {
    let type = c.data_type;
    if (type === 'USER-DEFINED') type = `USER-DEFINED ${c.udt_name}`;
    else if (type === 'ARRAY') type = `ARRAY ${{ _text: 'text', _int8: 'bigint', _int4: 'integer' }[c.udt_name] ?? c.udt_name}`;
    else if (type.startsWith('timestamp')) type = `${type}(${c.datetime_precision})`;
    else if (type === 'character varying') type = `${type}(${c.character_maximum_length ?? ''})`;
    else if (type === 'numeric') type = `${type}(${c.numeric_precision})`;
    shape(c.table_name).columns[c.column_name] = {
      type,
      nullable: c.is_nullable === 'YES',
      hasDefault: c.column_default !== null,
    };
  }

  const indexes = await client.query<{ table: string; name: string; unique: boolean; primary: boolean; columns: string[] }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
     FROM pg_index ix
     JOIN pg_class i ON i.oid = ix.indexrelid
     JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public' AND t.relname = ANY($1)`,
    [tables],
  );
  for (const ix of indexes.rows) {
    const kind = ix.primary ? 'PRIMARY KEY' : ix.unique ? 'UNIQUE' : 'INDEX';
    shape(ix.table).indexes.push(`${kind} ${ix.name} (${ix.columns.join(', ')})`);
  }

  const foreignKeys = await client.query<{
    table: string;
    name: string;
    target: string;
    columns: string[];
    target_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT t.relname AS table, c.conname AS name, rt.relname AS target,
            array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
            array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS target_columns,
            c.confdeltype AS on_delete, c.confupdtype AS on_update
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_class rt ON rt.oid = c.confrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE c.contype = 'f' AND n.nspname = 'public' AND t.relname = ANY($1)`,
    [tables],
  );
  const action: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
  for (const fk of foreignKeys.rows) {
    shape(fk.table).foreignKeys.push(
      fkText(fk.name, fk.columns, fk.target, fk.target_columns, action[fk.on_delete] ?? fk.on_delete, action[fk.on_update] ?? fk.on_update),
    );
  }

  for (const table of Object.values(result)) {
    table.indexes.sort();
    table.foreignKeys.sort();
  }
  return result;
}
