import { builder } from '../builder.js';
import './scalars.js';
import './dag.js';
import './dag-run.js';
import './run-actions.js';
import './worker.js';

builder.queryType({});
builder.mutationType({});

export const schema = builder.toSchema();
