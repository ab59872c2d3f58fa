/**
 * One page of the caller's resource rows (GraphQL `resources`, keyset-paginated) with the
 * page's filters: search (debounced), status, infrastructure and — for admins — owner. Pages
 * go forward by the last page's end cursor and back through the cursors already used; any
 * change of filter or of kinds starts again from the first page. `reload` asks for the page
 * shown again (the page's poll).
 */
import { computed, reactive, ref, shallowRef, watch, type Ref } from 'vue';
import { api } from '../graphql/api';
import type { ApiError } from '../graphql/client';
import { MonitoringResourcesDocument, type InfraType, type MonitoringResourcesQuery, type ResourceKind } from '../graphql/generated/operations';
import { toApiError } from './useGraphQL';

export type ResourceRow = MonitoringResourcesQuery['resources']['nodes'][number];

export const PAGE_SIZE = 25;
export const SEARCH_DEBOUNCE_MS = 250;

export interface ResourceFilters {
  search: string;
  status: string;
  infra: InfraType | '';
  owner: string;
}

export function useResourceList(kinds: Ref<ResourceKind[] | null>, options: { pageSize?: number; debounceMs?: number } = {}) {
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const filters = reactive<ResourceFilters>({ search: '', status: '', infra: '', owner: '' });
  const rows = shallowRef<ResourceRow[]>([]);
  const totalCount = ref(0);
  const hasNext = ref(false);
  const endCursor = ref<string | null>(null);
  /** The `after` of every page from the first to the one shown. */
  const cursors = ref<(string | null)[]>([null]);
  const loading = ref(false);
  const loaded = ref(false);
  const error = shallowRef<ApiError | null>(null);
  let latest = 0;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    const call = ++latest;
    loading.value = true;
    try {
      const { resources } = await api.request(MonitoringResourcesDocument, {
        first: pageSize,
        after: cursors.value[cursors.value.length - 1],
        kind: kinds.value,
        search: filters.search.trim() || null,
        status: filters.status || null,
        infra: filters.infra || null,
        owner: filters.owner.trim() || null,
      });
      if (call !== latest) return;
      // The page emptied since (its rows went): show the one before.
      if (!resources.nodes.length && cursors.value.length > 1) {
        cursors.value = cursors.value.slice(0, -1);
        return load();
      }
      rows.value = resources.nodes;
      totalCount.value = resources.totalCount;
      hasNext.value = resources.pageInfo.hasNextPage;
      endCursor.value = resources.pageInfo.endCursor ?? null;
      error.value = null;
      loaded.value = true;
    } catch (err) {
      if (call === latest) error.value = toApiError(err);
    } finally {
      if (call === latest) loading.value = false;
    }
  }

  function restart(): Promise<void> {
    clearTimeout(debounce);
    cursors.value = [null];
    return load();
  }

  function next(): Promise<void> {
    if (!hasNext.value || !endCursor.value) return Promise.resolve();
    cursors.value = [...cursors.value, endCursor.value];
    return load();
  }

  function previous(): Promise<void> {
    if (cursors.value.length <= 1) return Promise.resolve();
    cursors.value = cursors.value.slice(0, -1);
    return load();
  }

  watch(kinds, () => void restart());
  watch(() => [filters.status, filters.infra], () => void restart());
  watch(
    () => [filters.search, filters.owner],
    () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void restart(), options.debounceMs ?? SEARCH_DEBOUNCE_MS);
    },
  );
  void load();

  const page = computed(() => cursors.value.length);
  const pageCount = computed(() => Math.max(1, Math.ceil(totalCount.value / pageSize)));
  return { filters, rows, totalCount, page, pageCount, pageSize, hasNext, hasPrevious: computed(() => cursors.value.length > 1), loading, loaded, error, next, previous, reload: load };
}
