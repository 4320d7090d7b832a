// Connections nested under a list (`dags { runs(first: 5) }`, `dagRuns { taskInstances(first: 10) }`,
// `tries { logs(last: 20) }`). Prisma loads a nested `take` for many parents by reading every
// child row of every parent and slicing in memory (and its JSON-join strategy builds every
// child's JSON before it limits), which a run with 10,000 task instances cannot afford. Here a
// page costs two statements whatever the number of parents: one LATERAL join that walks each
// parent's index range for at most `take` ids, then one Prisma query that loads those rows with
// the GraphQL selection (and its own relations).
import type { GraphQLResolveInfo } from 'graphql';
import { Prisma } from '../generated/prisma/client.js';
import { badInput } from '../errors.js';
import { batch, responsePath } from './batch.js';
import type { ApiContext } from './builder.js';

type SqlType = 'integer' | 'bigint' | 'text';

/** How the rows of one nested connection are found: the table, its parent column and its order. */
export interface NestedPageSpec {
  /** The table of the listed rows (a constant, never user input). */
  table: string;
  /** The column that holds the parent's key, and its SQL type. */
  parentColumn: string;
  parentType: SqlType;
  /**
   * The order of a page, which is also its cursor: the fields of the unique key given to
   * `prismaConnection` as `cursor`, after the parent's, with their columns. An index on
   * (parent, these columns) makes a page one index range per parent.
   */
  order: Array<{ field: string; column: string; type: SqlType }>;
  /** Newest first (all order columns descending) or oldest first (all ascending). */
  descending: boolean;
}

/** What `prismaConnection` hands its resolver: the selection, and the page as Prisma would take it. */
export interface PageQuery {
  take: number;
  skip: number;
  cursor?: Record<string, unknown>;
  [selection: string]: unknown;
}

/**
 * One parent's page of a nested connection, batched with its siblings. Returns what Prisma
 * would for `query` (take, skip, cursor): at most |take| rows in the page's order. `filters`
 * are extra conditions on the table, aliased `t`; they must be the same for every parent of
 * the field (they come from its arguments). `load` reads rows by id with the selection.
 */
export function nestedPage<Row extends { id: unknown }>(
  ctx: ApiContext,
  info: GraphQLResolveInfo,
  spec: NestedPageSpec,
  parentKey: string | number | bigint,
  query: PageQuery,
  filters: Prisma.Sql[],
  load: (selection: Record<string, unknown>, ids: Array<Row['id']>) => Promise<Row[]>,
): Promise<Row[]> {
  const { take, skip, cursor, ...selection } = query;
  const after = cursor ? cursorValues(spec, cursor) : null;
  if (after && skip !== 1) throw new Error('nestedPage expects Pothos’ cursor pages (skip 1 after a cursor)');
  // Every parent of this field in this response shares one batch (aliases have their own path).
  const name = `page:${responsePath(info)}`;
  return batch<string, Row[]>(ctx, name, String(parentKey), async (parents) => {
    const forward = take >= 0;
    const descending = forward ? spec.descending : !spec.descending;
    const t = (column: string) => Prisma.raw(`t.${column}`);
    const conditions = [...filters];
    if (after) {
      const columns = Prisma.join(spec.order.map((o) => t(o.column)));
      const values = Prisma.join(spec.order.map((o, i) => Prisma.sql`CAST(${after[i]} AS ${Prisma.raw(o.type)})`));
      conditions.push(Prisma.sql`(${columns}) ${Prisma.raw(descending ? '<' : '>')} (${values})`);
    }
    const where = conditions.length > 0 ? Prisma.sql`AND ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
    const orderBy = Prisma.join(spec.order.map((o) => Prisma.sql`${t(o.column)} ${Prisma.raw(descending ? 'DESC' : 'ASC')}`));
    const rows = await ctx.prisma.$queryRaw<Array<{ parent: string; id: Row['id'] }>>`
      SELECT p.parent::text AS parent, c.id
      FROM unnest(CAST(${parents} AS text[])::${Prisma.raw(spec.parentType)}[]) WITH ORDINALITY AS p(parent, n)
      CROSS JOIN LATERAL (
        SELECT t.id FROM ${Prisma.raw(spec.table)} t
        WHERE t.${Prisma.raw(spec.parentColumn)} = p.parent ${where}
        ORDER BY ${orderBy}
        LIMIT ${Math.abs(take)}
      ) c
      ORDER BY p.n`;
    // The rows are matched by id, which the selection lacks when only cursors are asked for.
    const withId = 'select' in selection ? { ...selection, select: { ...(selection.select as object), id: true } } : selection;
    const loaded = rows.length === 0 ? [] : await load(withId, rows.map((r) => r.id));
    const byId = new Map(loaded.map((row) => [String(row.id), row]));
    const pages = new Map<string, Row[]>(parents.map((p) => [p, []]));
    for (const { parent, id } of rows) {
      const row = byId.get(String(id));
      if (row) pages.get(parent)!.push(row); // a row deleted between the two statements is left out
    }
    // A backward page was read from its end; Prisma hands it back in the page's order.
    return parents.map((p) => (forward ? pages.get(p)! : pages.get(p)!.reverse()));
  });
}

/** The values of the order columns in a parsed cursor, checked: a cursor is the caller's input. */
function cursorValues(spec: NestedPageSpec, cursor: Record<string, unknown>): unknown[] {
  const [entry] = Object.values(cursor);
  const fields = spec.order.length === 1 && typeof entry !== 'object' ? { [spec.order[0]!.field]: entry } : (entry as Record<string, unknown> | null);
  return spec.order.map(({ field, type }) => {
    const value = fields?.[field];
    const ok =
      type === 'text'
        ? typeof value === 'string'
        : type === 'integer'
          ? Number.isSafeInteger(value) && Math.abs(value as number) <= 2 ** 31 - 1
          : typeof value === 'bigint' || Number.isSafeInteger(value);
    if (!ok) throw badInput('The cursor does not belong to this list; use a cursor this list returned');
    return typeof value === 'bigint' ? value.toString() : value;
  });
}
