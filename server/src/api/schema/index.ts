import { builder } from '../builder.js';
import './scalars.js';
import './states.js';
import './dag-version.js';
import './dag.js';
import './dag-run.js';
import './task-instance.js';
import './grid.js';
import './run-actions.js';
import './worker.js';
import './health.js';
import './api-token.js';
import './audit-log.js';
import './retention-pass.js';
import './live.js';
import './variable.js';
import './connection.js';
import './plugin.js';
import './backfill.js';
import './asset.js';
import './pool.js';
import './me.js';

// Every field needs a token (or an open API) unless it sets `skipTypeScopes` (public fields).
builder.queryType({ description: 'What the API answers: DAGs and their runs, task instances, workers, tokens, the audit log and the platform’s health.', authScopes: { authenticated: true } });
builder.mutationType({ description: 'What the API does: triggers, pauses, operator actions on runs, tokens. Every attempt is audited.', authScopes: { authenticated: true } });
builder.subscriptionType({
  description: 'Live changes, served over SSE: POST the subscription with `Accept: text/event-stream`.',
  authScopes: { authenticated: true },
});

export const schema = builder.toSchema();
