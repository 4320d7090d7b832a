import { createServer, type Server } from 'node:http';
import { createYoga } from 'graphql-yoga';
import type { ApiContext } from './builder.js';
import { schema } from './schema/index.js';

/**
 * The GraphQL API as a fetch-style handler; `context` is shared by all requests.
 * Yoga masks unexpected errors; UpdraftErrors (GraphQLErrors) keep message and code.
 */
export function createApi(context: ApiContext) {
  return createYoga({
    schema,
    context: () => context,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: 'warn',
  });
}

/** Serves the API on http://host:port/graphql. */
export async function serveApi(context: ApiContext, opts: { host: string; port: number }): Promise<Server> {
  const server = createServer(createApi(context));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`Port ${opts.port} on ${opts.host} is in use (another \`updraft start\`?); choose another with --port`) : e),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
