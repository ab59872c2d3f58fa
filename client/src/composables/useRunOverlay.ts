/**
 * What both consoles do around a run: start it from a provision answer, pick up a run kept
 * in sessionStorage when the page loads, close it, and go to /monitoring from it.
 */
import { onMounted } from 'vue';
import { useRouter } from 'vue-router';
import { useProvisionRun } from './useProvisionRun';

export function useRunOverlay() {
  const run = useProvisionRun();
  const router = useRouter();
  onMounted(() => run.resume());
  return {
    run,
    close: () => run.dismiss(),
    toDashboard: () => {
      run.dismiss();
      void router.push('/monitoring');
    },
  };
}
