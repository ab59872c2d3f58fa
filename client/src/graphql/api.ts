/** The console's GraphQL client: the session token on every call that needs it. */
import { currentToken, reportTokenRejected } from './auth-token';
import { createGraphQLClient } from './client';

export const api = createGraphQLClient({
  getToken: currentToken,
  onUnauthenticated: (_error, token) => reportTokenRejected(token),
});
