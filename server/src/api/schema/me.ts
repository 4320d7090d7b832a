// `me`: who the caller is, so that a client (the dashboard) can ask for a token when it needs
// one and hide the actions its role may not take. Public, like `health`.
import type { Caller } from '../../auth.js';
import { builder } from '../builder.js';
import { ApiRole } from './api-token.js';

const Me = builder.objectRef<Caller>('Me').implement({
  description: 'The caller of this request, as the API sees it.',
  fields: (t) => ({
    actor: t.exposeString('actor', { description: 'Its id in the audit log: `local` (an open API), `anonymous` (no token) or `token:<prefix>`.' }),
    name: t.exposeString('name', { nullable: true, description: 'The token’s name, if it has one.' }),
    role: t.field({
      type: ApiRole,
      nullable: true,
      description: 'What it may do; null when it may use public fields only (no token where the API requires one).',
      resolve: (caller) => caller.role,
    }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: Me,
    description: 'Who the caller is and what role it has. Public: without a token it answers `anonymous` with no role.',
    skipTypeScopes: true,
    resolve: (_root, _args, ctx) => ctx.caller,
  }),
}));
