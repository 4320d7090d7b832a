// Names and descriptions of the connection types (`DagRunConnection`, `DagRunEdge`), so that
// clients can share fragments across the fields that list the same things.

/** The connection and edge options of a list of `what`, named after `name`. */
export function pageTypes(name: string, what: string) {
  return [
    { name: `${name}Connection`, description: `A page of ${what}.` },
    { name: `${name}Edge`, description: `One of the ${what} of a page, with its cursor.` },
  ] as const;
}
