/**
 * Keeps the focus on the page when the control that has it goes away (a Disable button gone once
 * the account is disabled, an approved sign-up's row, a removed pool host): without this it falls
 * to the document, out of every landmark, and screen readers lose their place. The focus goes to
 * the container (the main content, tabindex="-1"), where it stays put on screen.
 */
import { onBeforeUnmount, onMounted, type Ref } from 'vue';

export function useFocusKeeper(container: Ref<HTMLElement | null>): void {
  let last: HTMLElement | null = null;
  let observer: MutationObserver | null = null;

  function remember(event: FocusEvent): void {
    if (event.target instanceof HTMLElement) last = event.target;
  }

  function rescue(root: HTMLElement): void {
    if (!last || last.isConnected) return;
    last = null;
    const active = document.activeElement;
    // Something else (a dialog giving the focus back, a view moving it) already placed it.
    if (active && active !== document.body && active !== document.documentElement) return;
    root.focus({ preventScroll: true });
  }

  onMounted(() => {
    const root = container.value;
    if (!root) return;
    root.addEventListener('focusin', remember);
    observer = new MutationObserver(() => rescue(root));
    observer.observe(root, { childList: true, subtree: true });
  });

  onBeforeUnmount(() => {
    container.value?.removeEventListener('focusin', remember);
    observer?.disconnect();
  });
}
