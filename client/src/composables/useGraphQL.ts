/**
 * Composables over the console's GraphQL client, each returning `{ data, error, fetching }`
 * refs. Errors are {@link ApiError}s: show them by `code`.
 */
import { ref, shallowRef, type Ref } from 'vue';
import { api } from '../graphql/api';
import { ApiError, type RequestOptions } from '../graphql/client';
import type { TypedDocumentString } from '../graphql/generated/operations';

export function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError('UNKNOWN', err instanceof Error ? err.message : String(err));
}

export interface QueryState<TResult> {
  data: Ref<TResult | null>;
  error: Ref<ApiError | null>;
  fetching: Ref<boolean>;
  /** Runs the query again; resolves when it has answered (never rejects). */
  refetch: () => Promise<void>;
}

/** Runs a query now (unless `immediate: false`) and on every refetch. */
export function useQuery<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  options: RequestOptions & { immediate?: boolean } = {},
): QueryState<TResult> {
  const data = shallowRef<TResult | null>(null);
  const error = shallowRef<ApiError | null>(null);
  const fetching = ref(false);
  let latest = 0;

  async function refetch(): Promise<void> {
    const call = ++latest;
    fetching.value = true;
    error.value = null;
    try {
      const result = await api.request(document, variables, options);
      if (call === latest) data.value = result;
    } catch (err) {
      if (call === latest) error.value = toApiError(err);
    } finally {
      if (call === latest) fetching.value = false;
    }
  }

  if (options.immediate !== false) void refetch();
  return { data, error, fetching, refetch };
}

export interface MutationState<TResult, TVariables> {
  data: Ref<TResult | null>;
  error: Ref<ApiError | null>;
  fetching: Ref<boolean>;
  /** Resolves with the result, or null after an error (then in `error`). */
  execute: (variables: TVariables) => Promise<TResult | null>;
}

export function useMutation<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, options: RequestOptions = {}): MutationState<TResult, TVariables> {
  const data = shallowRef<TResult | null>(null);
  const error = shallowRef<ApiError | null>(null);
  const fetching = ref(false);

  async function execute(variables: TVariables): Promise<TResult | null> {
    fetching.value = true;
    error.value = null;
    try {
      data.value = await api.request(document, variables, options);
      return data.value;
    } catch (err) {
      error.value = toApiError(err);
      return null;
    } finally {
      fetching.value = false;
    }
  }

  return { data, error, fetching, execute };
}
