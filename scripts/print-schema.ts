// `npm run schema`: writes schema.graphql, the API's schema as the code builds it (types and
// fields in lexicographic order), for clients and for review. test/schema-graphql.test.ts
// fails while the committed file differs from what the code builds.
import fs from 'node:fs/promises';
import { printApiSchema, SCHEMA_FILE } from '../server/src/api/print-schema.js';

await fs.writeFile(SCHEMA_FILE, printApiSchema());
console.log(`Wrote ${SCHEMA_FILE}`);
