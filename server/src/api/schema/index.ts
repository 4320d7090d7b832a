import { builder } from '../builder.js';
import './scalars.js';
import './dag.js';
import './dag-run.js';
import './run-actions.js';
import './worker.js';
import './api-token.js';
import './audit-log.js';
import './variable.js';
import './connection.js';

// Every field needs a token (or an open API) unless it sets `skipTypeScopes` (public fields).
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });

export const schema = builder.toSchema();
