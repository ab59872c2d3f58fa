/**
 * The catalog (tiers and prices, engines, regions, environments, packages, traffic), fetched
 * once per page load and shared by both consoles, with typed views of its JSON objects.
 */
import { computed } from 'vue';
import { CatalogDocument, type CatalogQuery } from '../graphql/generated/operations';
import { useQuery, type QueryState } from './useGraphQL';

export interface InstanceTier {
  type: string;
  label: string;
  monthlyUsd: number;
  vcpu: number;
  memoryGb: number;
}

export interface TrafficSize {
  name: string;
  vcpu: number;
  memoryGb: number;
}

let shared: QueryState<CatalogQuery> | null = null;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v) || 0);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

export function useCatalog() {
  shared ??= useQuery(CatalogDocument, {});
  const query = shared;
  if (query.error.value && !query.fetching.value) void query.refetch();
  const catalog = computed(() => query.data.value?.catalog ?? null);

  const tiers = computed<InstanceTier[]>(() =>
    Object.entries(catalog.value?.instanceTiers ?? {}).map(([type, raw]) => {
      const t = obj(raw);
      return { type, label: String(t.label ?? type), monthlyUsd: num(t.monthlyUsd), vcpu: num(t.vcpu), memoryGb: num(t.memoryGb) };
    }),
  );
  const dbEngines = computed(() => Object.entries(catalog.value?.dbEngines ?? {}).map(([name, raw]) => ({ name, label: String(obj(raw).label ?? name) })));
  const regions = computed(() => Object.entries(catalog.value?.regions ?? {}).map(([name, label]) => ({ name, label: String(label) })));
  const environments = computed(() => Object.keys(catalog.value?.environments ?? {}));
  const packages = computed(() => catalog.value?.packages ?? []);
  const traffic = computed<TrafficSize[]>(() =>
    Object.entries(catalog.value?.traffic ?? {}).map(([name, raw]) => ({ name, vcpu: num(obj(raw).vcpu), memoryGb: num(obj(raw).memoryGb) })),
  );

  return { query, catalog, tiers, dbEngines, regions, environments, packages, traffic };
}

/** Forgets the shared answer (tests). */
export function resetCatalogCache(): void {
  shared = null;
}
