/**
 * Public portal settings (notice, maintenance mode, active database), fetched once per page
 * load and shared by every page that shows them; `refetch` asks again.
 */
import { PublicSettingsDocument, type PublicSettingsQuery } from '../graphql/generated/operations';
import { useQuery, type QueryState } from './useGraphQL';

let shared: QueryState<PublicSettingsQuery> | null = null;

export function usePublicSettings(): QueryState<PublicSettingsQuery> {
  shared ??= useQuery(PublicSettingsDocument, {}, { auth: false });
  return shared;
}
