/**
 * The `provision` mutation as both consoles send it: with an idempotency key per submit
 * intent (see utils/idempotency.ts), and one request at a time — a second submit of the same
 * order while the first is on its way gets the first one's answer.
 */
import type { ProvisionInput, ProvisionMutation } from '../graphql/generated/operations';
import { ProvisionDocument } from '../graphql/generated/operations';
import { createSubmitKeys, stableJson } from '../utils/idempotency';
import { useMutation } from './useGraphQL';

export interface ProvisionOrderOptions {
  /** Makes a new key (tests); crypto.randomUUID by default. */
  newKey?: () => string;
}

export function useProvisionOrder(options: ProvisionOrderOptions = {}) {
  const mutation = useMutation(ProvisionDocument);
  const keys = createSubmitKeys(options.newKey);
  let inFlight: { body: string; answer: Promise<ProvisionMutation | null> } | null = null;

  /** Sends the order; resolves with the answer, or null after an error (then in `error`). */
  function submit(input: ProvisionInput): Promise<ProvisionMutation | null> {
    const body = stableJson(input);
    if (inFlight && inFlight.body === body) return inFlight.answer;
    const idempotencyKey = keys.keyFor(input);
    const answer = mutation.execute({ input, idempotencyKey }).then((result) => {
      if (result) keys.succeeded();
      return result;
    });
    const entry = { body, answer };
    inFlight = entry;
    void answer.finally(() => {
      if (inFlight === entry) inFlight = null;
    });
    return answer;
  }

  return { submit, data: mutation.data, error: mutation.error, fetching: mutation.fetching };
}
