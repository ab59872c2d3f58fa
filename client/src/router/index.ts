/**
 * History-mode router with the sign-in rule: a page that needs a session waits for the stored
 * one to be checked, then sends a visitor without one to /configure?redirect=<path>. When a
 * session ends (logout, expiry, a token the server rejects) on such a page, the visitor goes to
 * /configure, which says why. A new page moves the keyboard focus to its main content.
 */
import { nextTick } from 'vue';
import { createRouter, createWebHistory, type Router } from 'vue-router';
import { onSessionEnded, useSession } from '../composables/useSession';
import { routes } from './routes';

export function createAppRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes,
    scrollBehavior: () => ({ top: 0 }),
  });

  router.beforeEach(async (to) => {
    if (!to.meta.requiresAuth) return true;
    const session = useSession();
    await session.restore();
    if (session.isSignedIn.value && session.isExpired()) session.end('expired');
    if (!session.isSignedIn.value) return { name: 'configure', query: { redirect: to.fullPath } };
    return true;
  });

  // A new page takes the focus to its main content, as a page load would: the link that was
  // followed is gone, and the next Tab starts at the top of what the page shows. A dialog the
  // new page opened keeps the focus it took.
  router.afterEach(async (to, from, failure) => {
    if (failure || from.matched.length === 0 || to.path === from.path) return;
    await nextTick();
    if (document.activeElement?.closest('[aria-modal="true"]')) return;
    document.getElementById('main')?.focus({ preventScroll: true });
  });

  onSessionEnded((reason) => {
    const current = router.currentRoute.value;
    if (reason === 'loggedOut') {
      if (current.name !== 'configure') void router.push({ name: 'configure' });
      return;
    }
    if (current.meta.requiresAuth) void router.replace({ name: 'configure', query: { redirect: current.fullPath } });
  });

  return router;
}
