/**
 * What a project's status means to the console, in one place: which statuses end a run (as
 * the server's `provisionStatus` ends after them), which runs can be cancelled or retried,
 * and the pool shortage a refused order or retry reports.
 */
import type { ApiError } from '../graphql/client';
import type { ProjectStatus } from '../graphql/generated/operations';

/** A run is over: the stream ends after a status or error event with one of these. DELETING is not (the teardown goes on). */
export const FINAL_STATUSES: readonly ProjectStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export const isFinalStatus = (status: ProjectStatus | null | undefined): boolean => !!status && FINAL_STATUSES.includes(status);

/** The event ends the run (a log line may carry a final status too: the first line of a retry does). */
export const isFinalEvent = (event: { kind: string; status: ProjectStatus }): boolean =>
  (event.kind === 'status' || event.kind === 'error') && isFinalStatus(event.status);

/** cancelProvision accepts PENDING and RUNNING projects no stop was asked of yet. */
export const canCancel = (status: ProjectStatus, pendingAction: string | null | undefined): boolean =>
  (status === 'PENDING' || status === 'RUNNING') && !pendingAction;

/** retryProvision accepts FAILED and CANCELLED projects. */
export const canRetry = (status: ProjectStatus, pendingAction: string | null | undefined): boolean =>
  (status === 'FAILED' || status === 'CANCELLED') && !pendingAction;

export interface HostShortage {
  needed: number;
  available: number;
}

/** The workload pool had too few free hosts (CONFLICT with `extensions.needed` / `available`), or null. */
export function hostShortage(error: ApiError | null | undefined): HostShortage | null {
  if (!error || error.code !== 'CONFLICT') return null;
  const { needed, available } = error.extensions ?? {};
  return typeof needed === 'number' && typeof available === 'number' ? { needed, available } : null;
}
