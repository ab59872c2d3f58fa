import { onScopeDispose, ref, type Ref } from 'vue';

export interface ThrottledAnnouncer<T> {
  /** The text of the live region: bind it to an element with aria-live. */
  message: Ref<string>;
  /** Something happened: spoken at once if the last announcement is old enough, else gathered. */
  push(item: T): void;
  /** Speaks what was gathered now, without waiting for the interval. */
  flush(): void;
  /** Drops what was gathered and stops the timer (the outcome is announced another way). */
  cancel(): void;
}

/**
 * A polite live region that does not flood: at most one announcement every `intervalMs`.
 * The first item is spoken at once; items that arrive within the interval after an
 * announcement are gathered and spoken together, summarized by `summarize`, when it ends.
 * A summary that equals the previous one gets an invisible mark appended, so the DOM text
 * changes and a screen reader speaks it again.
 */
export function useThrottledAnnouncer<T>(summarize: (items: T[]) => string, intervalMs = 2000): ThrottledAnnouncer<T> {
  const message = ref('');
  let gathered: T[] = [];
  let lastSpokenAt = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | null = null;

  function stopTimer(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function flush(): void {
    stopTimer();
    if (!gathered.length) return;
    const text = summarize(gathered);
    gathered = [];
    lastSpokenAt = Date.now();
    message.value = message.value === text ? `${text}\u00a0` : text;
  }

  function push(item: T): void {
    gathered.push(item);
    if (timer !== null) return;
    const wait = lastSpokenAt + intervalMs - Date.now();
    if (wait <= 0) flush();
    else timer = setTimeout(flush, wait);
  }

  function cancel(): void {
    stopTimer();
    gathered = [];
  }

  onScopeDispose(cancel);
  return { message, push, flush, cancel };
}
