/**
 * Runs `work` every `ms` while the page is visible: a hidden tab asks nothing, and when it
 * becomes visible again an overdue run happens at once. A run never overlaps the one before
 * (the next is timed from the end of the last). Stops with the component's scope.
 */
import { onScopeDispose } from 'vue';

const visible = () => typeof document === 'undefined' || document.visibilityState !== 'hidden';

export function useVisibleInterval(work: () => Promise<unknown> | unknown, ms: number): { runNow: () => Promise<void> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = Date.now();
  let running: Promise<void> | null = null;
  let stopped = false;

  const schedule = () => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => void tick(), ms);
  };

  function tick(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (!visible()) {
      schedule();
      return Promise.resolve();
    }
    running ??= (async () => {
      clearTimeout(timer);
      try {
        await work();
      } catch {
        // the work reports its own errors
      } finally {
        last = Date.now();
        running = null;
        schedule();
      }
    })();
    return running;
  }

  const onVisibility = () => {
    if (visible() && !running && Date.now() - last >= ms) void tick();
  };
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisibility);
  schedule();
  onScopeDispose(() => {
    stopped = true;
    clearTimeout(timer);
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisibility);
  });
  return { runNow: tick };
}
