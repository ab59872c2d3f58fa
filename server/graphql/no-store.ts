/**
 * `Cache-Control: no-store` on every GraphQL answer over HTTP, as Apollo's cache-control plugin
 * (installed by default) answered: the schema declares no cache hints and the default max-age
 * is 0, so it never computed anything else. That plugin costs a hook on every field of every
 * operation (and Apollo then wraps every resolver in the schema to call it); this one runs once
 * per answer. app.ts installs ApolloServerPluginCacheControlDisabled next to it.
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';

export function noStorePlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  const listener: GraphQLRequestListener<TContext> = {
    async willSendResponse({ response }) {
      response.http.headers.set('cache-control', 'no-store');
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}
