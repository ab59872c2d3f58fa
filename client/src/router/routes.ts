/**
 * Every page of SPEC §1. `/` is in the first bundle; every other page loads on demand.
 * `step` lights the header's step indicator; `requiresAuth` pages send a visitor without a
 * session to /configure?redirect=<path>.
 */
import type { RouteRecordRaw } from 'vue-router';
import SelectInfraView from '../views/SelectInfraView.vue';

declare module 'vue-router' {
  interface RouteMeta {
    step?: 1 | 2 | 3;
    requiresAuth?: boolean;
    requiresAdmin?: boolean;
    /** i18n key of the page title (document title). */
    titleKey?: string;
  }
}

/** `/history?first=N` picks the page size (1–100); anything else leaves the default. */
const pageSizeOf = (raw: unknown): number | undefined => {
  const n = typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  return n >= 1 && n <= 100 ? n : undefined;
};

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'select-infra', component: SelectInfraView, meta: { step: 1, titleKey: 'pages.selectInfra' } },
  { path: '/configure', name: 'configure', component: () => import('../views/ConfigureView.vue'), meta: { step: 2, titleKey: 'pages.configure' } },
  { path: '/signup', name: 'signup', component: () => import('../views/SignupView.vue'), meta: { step: 2, titleKey: 'pages.signup' } },
  { path: '/main_ui', name: 'main-ui', component: () => import('../views/MainUiView.vue'), meta: { step: 2, requiresAuth: true, titleKey: 'pages.mainUi' } },
  { path: '/private-console', name: 'private-console', component: () => import('../views/PrivateConsoleView.vue'), meta: { step: 2, requiresAuth: true, titleKey: 'pages.privateConsole' } },
  { path: '/history', name: 'history', component: () => import('../views/HistoryView.vue'), props: (r) => ({ pageSize: pageSizeOf(r.query.first) }), meta: { step: 3, requiresAuth: true, titleKey: 'pages.history' } },
  { path: '/monitoring', name: 'monitoring', component: () => import('../views/MonitoringView.vue'), meta: { step: 3, requiresAuth: true, titleKey: 'pages.monitoring' } },
  { path: '/admin_users', name: 'admin-users', component: () => import('../views/AdminUsersView.vue'), meta: { step: 3, requiresAuth: true, requiresAdmin: true, titleKey: 'pages.adminUsers' } },
  { path: '/admin_pool', name: 'admin-pool', component: () => import('../views/AdminPoolView.vue'), meta: { step: 3, requiresAuth: true, requiresAdmin: true, titleKey: 'pages.adminPool' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('../views/NotFoundView.vue'), meta: { titleKey: 'pages.notFound' } },
];
