/**
 * The AWS design of /main_ui: the form's state, the config it sends (the original console's
 * request shape), and the live preview (`designPreview`, debounced) with the server's
 * BAD_USER_INPUT issues mapped to the form's fields.
 */
import { computed, onScopeDispose, reactive, shallowRef, watch, ref } from 'vue';
import { api } from '../graphql/api';
import type { ApiError, ValidationIssue } from '../graphql/client';
import { DesignPreviewDocument, type DesignPreviewQuery } from '../graphql/generated/operations';
import { serviceNameProblem } from '../utils/service-name';
import { toApiError } from './useGraphQL';

export type DesignPreview = DesignPreviewQuery['designPreview'];

export interface AwsDesign {
  serviceName: string;
  environment: string;
  owner: string;
  instanceType: string;
  nodeCount: number | string;
  dbEngine: string;
  dbMultiAZ: boolean;
  dbSize: number | string;
  redis: boolean;
  waf: boolean;
  cdn: boolean;
  region: string;
}

/** The fields the server's issues can point at (`loc` = ['body', 'config', field] or ['body', 'serviceName']). */
export type DesignField = keyof AwsDesign;

export const DEBOUNCE_MS = 250;

export function defaultDesign(): AwsDesign {
  return {
    serviceName: '',
    environment: 'dev',
    owner: '',
    instanceType: 't3.micro',
    nodeCount: 2,
    dbEngine: 'mysql',
    dbMultiAZ: false,
    dbSize: 20,
    redis: false,
    waf: false,
    cdn: false,
    region: 'ap-northeast-2',
  };
}

/** An empty number field is sent as null, so that the server names the field. */
const numberOrNull = (v: number | string): number | null => (v === '' || v === null ? null : Number(v));

/** `config` as the original console sent it (instanceCost included; the server keeps it). */
export function designConfig(design: AwsDesign, instanceCost: number | null): Record<string, unknown> {
  return {
    instanceType: design.instanceType,
    instanceCost,
    nodeCount: numberOrNull(design.nodeCount),
    dbEngine: design.dbEngine,
    dbMultiAZ: design.dbMultiAZ,
    dbSize: numberOrNull(design.dbSize),
    redis: design.redis,
    waf: design.waf,
    cdn: design.cdn,
    region: design.region,
    environment: design.environment,
    owner: design.owner,
  };
}

/** The design field an issue points at, if any. */
export function fieldOfIssue(issue: ValidationIssue): DesignField | null {
  const loc = issue.loc[0] === 'body' ? issue.loc.slice(1) : issue.loc;
  const name = loc[0] === 'config' ? loc[1] : loc[0];
  return typeof name === 'string' && name in defaultDesign() ? (name as DesignField) : null;
}

export function issuesByField(issues: ValidationIssue[]): Partial<Record<DesignField, ValidationIssue>> {
  const out: Partial<Record<DesignField, ValidationIssue>> = {};
  for (const issue of issues) {
    const field = fieldOfIssue(issue);
    if (field && !out[field]) out[field] = issue;
  }
  return out;
}

export function useAwsDesign(instanceCostOf: (instanceType: string) => number | null) {
  const design = reactive<AwsDesign>(defaultDesign());
  const preview = shallowRef<DesignPreview | null>(null);
  const error = shallowRef<ApiError | null>(null);
  const fetching = ref(false);
  /** Problems the server reported for the last design sent. */
  const serverIssues = shallowRef<Partial<Record<DesignField, ValidationIssue>>>({});

  const nameProblem = computed(() => serviceNameProblem(design.serviceName));
  const config = computed(() => designConfig(design, instanceCostOf(design.instanceType)));

  let timer: ReturnType<typeof setTimeout> | undefined;
  let controller: AbortController | null = null;
  let latest = 0;

  async function refresh(): Promise<void> {
    const call = ++latest;
    controller?.abort();
    controller = new AbortController();
    fetching.value = true;
    // An invalid name is shown by the form; the preview goes on with the placeholder.
    const serviceName = nameProblem.value ? null : design.serviceName;
    try {
      const result = await api.request(DesignPreviewDocument, { config: config.value, serviceName }, { auth: false, signal: controller.signal });
      if (call !== latest) return;
      preview.value = result.designPreview;
      error.value = null;
      serverIssues.value = {};
    } catch (err) {
      if (call !== latest) return;
      const apiError = toApiError(err);
      error.value = apiError;
      serverIssues.value = apiError.code === 'BAD_USER_INPUT' ? issuesByField(apiError.issues) : {};
    } finally {
      if (call === latest) fetching.value = false;
    }
  }

  function schedule(): void {
    clearTimeout(timer);
    fetching.value = true;
    timer = setTimeout(() => void refresh(), DEBOUNCE_MS);
  }

  watch(config, schedule, { deep: true, immediate: true });
  watch(() => design.serviceName, schedule);
  onScopeDispose(() => {
    clearTimeout(timer);
    controller?.abort();
  });

  /** Shows the problems of a refused provision request next to their fields. */
  function showIssues(issues: ValidationIssue[]): void {
    serverIssues.value = issuesByField(issues);
  }

  return { design, config, preview, error, fetching, serverIssues, nameProblem, refresh, showIssues };
}
