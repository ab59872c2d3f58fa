/**
 * Keeps keyboard focus inside a dialog while it is open: Tab and Shift+Tab cycle through its
 * controls, Escape calls `onEscape`, and focus returns to where it was when the dialog closes.
 */
import { onBeforeUnmount, onMounted, type Ref } from 'vue';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusableIn(container: HTMLElement): HTMLElement[] {
  return Array.from(container.querySelectorAll<HTMLElement>(FOCUSABLE));
}

export function useFocusTrap(container: Ref<HTMLElement | null>, options: { onEscape: () => void; initialFocus?: () => HTMLElement | null | undefined }) {
  let previouslyFocused: HTMLElement | null = null;

  function onKeydown(event: KeyboardEvent): void {
    const root = container.value;
    if (!root) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      options.onEscape();
      return;
    }
    if (event.key !== 'Tab') return;
    const items = focusableIn(root);
    if (items.length === 0) {
      event.preventDefault();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    // The dialog itself holds the focus while its controls are still loading: Shift+Tab goes to the last.
    if (event.shiftKey && (active === first || active === root || !root.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || active === root || !root.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  onMounted(() => {
    previouslyFocused = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const root = container.value;
    if (!root) return;
    // A dialog with nothing to focus yet (its content still loading) takes the focus itself, so
    // that it is inside, and Tab is caught, from the start (it needs tabindex="-1").
    const target = options.initialFocus?.() ?? focusableIn(root)[0] ?? (root.hasAttribute('tabindex') ? root : null);
    target?.focus();
  });

  onBeforeUnmount(() => {
    if (previouslyFocused && document.contains(previouslyFocused)) previouslyFocused.focus();
  });

  return { onKeydown };
}
