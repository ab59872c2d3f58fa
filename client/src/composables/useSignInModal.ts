/**
 * The one sign-in modal of the console (App.vue renders it): opened by ConfigureView's buttons
 * and by the session "extend" button, prefilled with the username when known.
 */
import { readonly, ref } from 'vue';

export interface SignInRequest {
  /** Prefills the Account ID. */
  username?: string;
  /** Where to go after signing in; none = stay on the current page (extend). */
  redirect?: string;
  /** Extending: explains why the password is asked again. */
  extend?: boolean;
}

const request = ref<SignInRequest | null>(null);

export function useSignInModal() {
  return {
    request: readonly(request),
    open(options: SignInRequest = {}) {
      request.value = { ...options };
    },
    close() {
      request.value = null;
    },
  };
}
