/**
 * The access matrix (issue 3): every GraphQL operation of schema.graphql and every route Fastify
 * serves, called by Bob (a normal user) with Alice's project ids and username, and by a caller
 * without a token. Each entry is data stating its access rule; the table must cover the schema
 * and the route list exactly, so a new operation or route without an entry fails this suite.
 * Afterwards Alice's state is unchanged and no answer held any of her identifying values; the
 * admin reaches every admin-only entry, so the refusals are not vacuous. WebSocket upgrades are
 * not Fastify routes: every path the server upgrades (websocket/upgrades.ts) has an entry too —
 * /graphql is covered subscription by subscription, /ws/terminal by its close codes.
 */
import { readFileSync } from 'node:fs';
import type { Client } from 'graphql-ws';
import { buildSchema, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGraphQLSchema } from '../../server/graphql/schema.js';
import { encodeCursor } from '../../server/services/projects.js';
import { ADMIN_ONLY } from '../../server/services/settings.js';
import { webSocketPaths } from '../../server/websocket/upgrades.js';
import { backendsFor } from '../helpers/backends.js';
import { registeredRoutes } from '../helpers/routes.js';
import { ADMIN, startTestServer, waitFor, waitForFinalStatus, type TestServer } from '../helpers/server.js';
import { openTerminal } from '../helpers/terminal.js';

/**
 * public: no token needed · own: answers about the caller only · notFound: another user's project · admin: admins only ·
 * forbidden: refused outright · scrape: the METRICS_TOKEN only, never an account's token (an admin's neither)
 */
type Access = 'public' | 'own' | 'notFound' | 'admin' | 'forbidden' | 'scrape';
type Outcome = 'ok' | 'unauthenticated' | Exclude<Access, 'public' | 'own' | 'scrape'>;
type Caller = 'bob' | 'anonymous';

/** What an entry is called with: Alice's ids for Bob and the anonymous caller, harmless targets for the admin. */
interface Targets {
  project: number;
  cursor: string;
  user: string;
  pending: string;
  newUser: string;
  password: string;
  login: { username: string; password: string };
  /** A workload pool host: one of Alice's for Bob and the anonymous caller, a free one for the admin. */
  poolHost: number;
  /** An address not in the pool yet. */
  newHost: string;
}
/** Who Bob is, for the checks of own-scope answers. */
interface Self {
  username: string;
  projects: number[];
}
interface GqlEntry {
  op: 'Query' | 'Mutation' | 'Subscription';
  field: string;
  access: Access;
  doc: string;
  vars?: (t: Targets) => Record<string, unknown>;
  /** Needs a token of its own (logout ends it). */
  fresh?: boolean;
  own?: (data: any, self: Self) => void;
  /** A subscription that never ends: while Bob listens, `trigger` makes changes; listening stops once `heard` is true. */
  live?: { trigger: (ctx: LiveContext) => Promise<void>; heard: (data: any[], self: Self) => boolean };
}
interface LiveContext {
  server: TestServer;
  tokens: { alice: string; bob: string };
  self: Self;
}
interface RestEntry {
  method: 'GET' | 'POST' | 'DELETE';
  route: string;
  access: Access;
  query?: (t: Targets) => string;
  body?: (t: Targets) => unknown;
  headers?: (t: Targets) => Record<string, string>;
  /** `:username` is a pending account (reject-user). */
  pending?: boolean;
  fresh?: boolean;
  own?: (body: any, self: Self) => void;
  /** The URL to call when the route is a wildcard (a file it serves). */
  path?: string;
}

const USER = 'id username fullName role status createdAt quota { hosts vcpu memoryGb diskGb }';
const PROJECT = 'id owner serviceName status assignedIp templateType infra config details logs lastSeq errorMessage createdAt updatedAt resources { albIp dbVip webUrl sshTargets { host port user } }';
const EVENT = 'projectId seq kind status message data at';
const SETTINGS = 'awsAccessKeySet awsRegion awsSecretKeySet esxiIp maintenanceMode maxMemory maxVcpu systemNotice updatedAt vcenterIp vcenterPasswordSet vcenterUser';
const USAGE = 'liveProjects totalProjects usedDisk usedHosts usedMemory usedVcpu';
const ROW = 'kind vmName ipAddress projectId projectName owner status cpuUsage memoryUsage diskUsage';
const POOL_HOST = 'id vmName ipAddress infra status projectId owner drainRequested hostKeySet hostKeyFingerprints checkedAt checkOk checkMessage updatedAt';
const NOTICE = 'set by the access matrix';
const NOT_OWN_ORDER = 'userName must be your own account';
/** The design preview reads no data: the same answer for everyone. */
const PREVIEW_DESIGN = { instanceType: 'm5.large', nodeCount: 3, dbEngine: 'postgres', dbMultiAZ: true, dbSize: 100, redis: true, waf: true, cdn: true };

const onlyMine = (rows: any[], self: Self) => {
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) expect(r.owner).toBe(self.username);
};
const myProjects = (list: any[], self: Self) => {
  expect(list.map((p) => p.id)).toEqual(self.projects);
  onlyMine(list, self);
};
const username = (t: Targets) => ({ u: t.user });
const CHANGE = 'id serviceName status assignedIp owner infra lastSeq updatedAt deleted';
/** Alice (through the admin) and Bob each order a project, which finishes and is deleted again (the teardown runs to its end). */
async function churn({ server, tokens }: LiveContext): Promise<void> {
  const order = async (token: string, serviceName: string, userName?: string) => {
    const res = await server.request('POST', '/api/provision', { token, body: { serviceName, userName, config: { template: 'single' }, targetInfra: 'vsphere' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.project_id as number;
  };
  const alices = await order(server.adminToken, 'alice-churn', 'alice');
  const bobs = await order(tokens.bob, 'bob-churn');
  await waitForFinalStatus(server, alices, server.adminToken);
  await waitForFinalStatus(server, bobs, tokens.bob);
  expect((await server.request('DELETE', `/api/provision/${alices}`, { token: server.adminToken })).status).toBe(200);
  expect((await server.request('DELETE', `/api/provision/${bobs}`, { token: tokens.bob })).status).toBe(200);
  await waitFor(async () => {
    const ids = ((await server.request('GET', '/api/history', { token: server.adminToken })).body as any[]).map((p) => p.id);
    return !ids.includes(alices) && !ids.includes(bobs);
  }, 10_000, 'both churn projects to be torn down');
}
const projectId = (t: Targets) => ({ id: t.project });
const poolHostId = (t: Targets) => ({ id: t.poolHost });

const GRAPHQL: GqlEntry[] = [
  { op: 'Query', field: 'adminSettings', access: 'admin', doc: `{ adminSettings { ${SETTINGS} } }` },
  { op: 'Query', field: 'adminStats', access: 'admin', doc: `{ adminStats { ${USAGE} } }` },
  { op: 'Query', field: 'auditLog', access: 'admin', doc: `query($u: String) { auditLog(actor: $u, first: 200) { entries { id actor action target ip result detail at } hasMore nextBefore } }`, vars: username },
  { op: 'Query', field: 'catalog', access: 'public', doc: '{ catalog { templates { name roles } packages mockSteps regions environments } }' },
  {
    op: 'Query', field: 'designPreview', access: 'public', vars: () => ({ config: PREVIEW_DESIGN }),
    doc: 'query($config: JSONObject!) { designPreview(config: $config, serviceName: "matrix-preview") { serviceName totalMonthlyUsd costLines { key monthlyUsd } topology { zones { name appNodes { name } } } terraform cloudFormation warnings { code } } }',
  },
  {
    op: 'Query', field: 'history', access: 'own', vars: (t) => ({ after: t.cursor }),
    doc: `query($after: String) { history(first: 50, after: $after) { nodes { ${PROJECT} } edges { cursor } pageInfo { endCursor hasNextPage } } }`,
    own: (d, self) => myProjects(d.history.nodes, self),
  },
  {
    op: 'Query', field: 'hostAlerts', access: 'own', doc: '{ hostAlerts { name severity hostId vmName ipAddress projectId activeAt summary } }',
    own: (d) => expect(d.hostAlerts).toEqual([]),
  },
  {
    op: 'Query', field: 'hostSeries', access: 'notFound', vars: poolHostId,
    doc: 'query($id: Int!) { hostSeries(hostId: $id, window: H1) { hostId vmName ipAddress projectId window stepSeconds available reason cpu { at value } networkIn { at value } } }',
  },
  {
    op: 'Query', field: 'projectSeries', access: 'notFound', vars: projectId,
    doc: 'query($id: Int!) { projectSeries(projectId: $id, window: H6) { hostId vmName ipAddress available reason memory { at value } load1 { at value } } }',
  },
  { op: 'Query', field: 'me', access: 'own', doc: `{ me { ${USER} } }`, own: (d, self) => expect(d.me.username).toBe(self.username) },
  { op: 'Query', field: 'monitoringStatus', access: 'own', doc: '{ monitoringStatus { metricsConfigured metricsReachable lastError } }', own: (d) => expect(d.monitoringStatus).toEqual({ metricsConfigured: false, metricsReachable: null, lastError: null }) },
  { op: 'Query', field: 'myQuota', access: 'own', doc: `{ myQuota { limit { hosts vcpu memoryGb diskGb } used { ${USAGE} } } }`, own: (d, self) => expect(d.myQuota.used.liveProjects).toBe(self.projects.length) },
  { op: 'Query', field: 'pendingUsers', access: 'admin', doc: `{ pendingUsers { ${USER} } }` },
  {
    op: 'Query', field: 'poolHosts', access: 'admin', vars: (t) => ({ search: t.newHost }),
    doc: `query($search: String) { poolHosts(first: 100, search: $search) { totalCount nodes { ${POOL_HOST} } edges { cursor } pageInfo { hasNextPage endCursor } } }`,
  },
  { op: 'Query', field: 'project', access: 'notFound', doc: `query($id: Int!) { project(id: $id) { ${PROJECT} } }`, vars: projectId },
  { op: 'Query', field: 'projectEvents', access: 'notFound', doc: `query($id: Int!) { projectEvents(projectId: $id, afterSeq: 0, limit: 200) { lastSeq hasMore events { ${EVENT} } } }`, vars: projectId },
  { op: 'Query', field: 'publicSettings', access: 'public', doc: '{ publicSettings { siteName systemNotice maintenanceMode infrastructures database { backend fellBack } } }' },
  {
    // Bob's own rows; asked for Alice's (her name, her project, a cursor and a search on her project's name) he gets none.
    op: 'Query', field: 'resources', access: 'own', vars: (t) => ({ u: t.user, id: t.project }),
    doc: `query($u: String, $id: Int) { mine: resources(first: 100) { totalCount nodes { ${ROW} } edges { cursor } pageInfo { hasNextPage endCursor } }
      theirs: resources(first: 20, owner: $u) { totalCount nodes { ${ROW} } } project: resources(first: 20, projectId: $id) { totalCount nodes { ${ROW} } } }`,
    own: (d, self) => {
      onlyMine(d.mine.nodes, self);
      expect(d.mine.totalCount).toBe(d.mine.nodes.length);
      expect([d.theirs, d.project]).toEqual([{ totalCount: 0, nodes: [] }, { totalCount: 0, nodes: [] }]);
    },
  },
  {
    op: 'Query', field: 'resourceSummary', access: 'own',
    doc: '{ resourceSummary { hostsByInfra { infra total available provisioning assigned drained } hosts projects runningProjects derivedRows rows metrics { measuredHosts } } }',
    own: (d, self) => expect(d.resourceSummary).toMatchObject({ projects: self.projects.length, runningProjects: self.projects.length, metrics: null }),
  },
  { op: 'Query', field: 'templates', access: 'public', doc: '{ templates { name label hostCount roles } }' },
  { op: 'Query', field: 'users', access: 'admin', doc: `{ users(status: approved) { ${USER} } }` },
  { op: 'Mutation', field: 'cancelProvision', access: 'notFound', doc: `mutation($id: Int!) { cancelProvision(id: $id) { ${PROJECT} } }`, vars: projectId },
  {
    op: 'Mutation', field: 'addPoolHosts', access: 'admin', vars: (t) => ({ hosts: [{ vmName: 'matrix-host', ipAddress: t.newHost, infra: 'aws' }] }),
    doc: `mutation($hosts: [PoolHostInput!]!) { addPoolHosts(hosts: $hosts) { ${POOL_HOST} } }`,
  },
  { op: 'Mutation', field: 'approveUser', access: 'admin', doc: `mutation($u: String!) { approveUser(username: $u) { ${USER} } }`, vars: username },
  { op: 'Mutation', field: 'checkPoolHosts', access: 'admin', doc: `mutation($ids: [Int!]!) { checkPoolHosts(ids: $ids) { ${POOL_HOST} } }`, vars: (t) => ({ ids: [t.poolHost] }) },
  { op: 'Mutation', field: 'changePassword', access: 'own', doc: 'mutation($p: String!) { changePassword(currentPassword: $p, newPassword: $p) }', vars: (t) => ({ p: t.password }) },
  { op: 'Mutation', field: 'createUser', access: 'admin', doc: `mutation($u: String!) { createUser(input: { username: $u, password: "created-by-matrix", role: admin }) { ${USER} } }`, vars: (t) => ({ u: t.newUser }) },
  { op: 'Mutation', field: 'deleteProject', access: 'notFound', doc: 'mutation($id: Int!) { deleteProject(id: $id) }', vars: projectId },
  { op: 'Mutation', field: 'drainPoolHost', access: 'admin', doc: `mutation($id: Int!) { drainPoolHost(id: $id) { ${POOL_HOST} } }`, vars: poolHostId },
  { op: 'Mutation', field: 'disableUser', access: 'admin', doc: `mutation($u: String!) { disableUser(username: $u) { ${USER} } }`, vars: username },
  { op: 'Mutation', field: 'login', access: 'public', doc: 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { tokenType expiresAt user { username role } } }', vars: (t) => ({ u: t.login.username, p: t.login.password }) },
  { op: 'Mutation', field: 'logout', access: 'own', doc: 'mutation { logout }', fresh: true },
  {
    op: 'Mutation', field: 'provision', access: 'forbidden', doc: `mutation($input: ProvisionInput!, $key: String) { provision(input: $input, idempotencyKey: $key) { ${PROJECT} } }`,
    vars: (t) => ({ key: `matrix-${t.newUser}`, input: { serviceName: 'ordered-as-other', userName: t.user, config: { template: 'single' }, targetInfra: 'vsphere' } }),
  },
  { op: 'Mutation', field: 'retryProvision', access: 'notFound', doc: `mutation($id: Int!) { retryProvision(id: $id) { ${PROJECT} } }`, vars: projectId },
  { op: 'Mutation', field: 'rejectUser', access: 'admin', doc: `mutation($u: String!) { rejectUser(username: $u) { ${USER} } }`, vars: (t) => ({ u: t.pending }) },
  { op: 'Mutation', field: 'removePoolHost', access: 'admin', doc: `mutation($id: Int!) { removePoolHost(id: $id) { ${POOL_HOST} } }`, vars: poolHostId },
  { op: 'Mutation', field: 'resetPoolHostKey', access: 'admin', doc: `mutation($id: Int!) { resetPoolHostKey(id: $id) { ${POOL_HOST} } }`, vars: poolHostId },
  { op: 'Mutation', field: 'resetUserPassword', access: 'admin', doc: `mutation($u: String!) { resetUserPassword(username: $u, newPassword: "taken-over-by-matrix") { ${USER} } }`, vars: username },
  { op: 'Mutation', field: 'setUserQuota', access: 'admin', doc: `mutation($u: String!) { setUserQuota(username: $u, quota: { hosts: 0, vcpu: 0, memoryGb: 0, diskGb: 0 }) { ${USER} } }`, vars: username },
  { op: 'Mutation', field: 'setUserRole', access: 'admin', doc: `mutation($u: String!) { setUserRole(username: $u, role: admin) { ${USER} } }`, vars: username },
  { op: 'Mutation', field: 'signup', access: 'public', doc: 'mutation($u: String!) { signup(input: { username: $u, password: "signup-password-1" }) { username status } }', vars: (t) => ({ u: t.newUser }) },
  { op: 'Mutation', field: 'undrainPoolHost', access: 'admin', doc: `mutation($id: Int!) { undrainPoolHost(id: $id) { ${POOL_HOST} } }`, vars: poolHostId },
  { op: 'Mutation', field: 'updateAdminSettings', access: 'admin', doc: `mutation($p: String!) { updateAdminSettings(adminPassword: $p, input: { systemNotice: "${NOTICE}", maintenanceMode: false }) { ${SETTINGS} } }`, vars: (t) => ({ p: t.password }) },
  {
    op: 'Query', field: 'workloadPool', access: 'own', doc: '{ workloadPool { infra total available provisioning assigned } }',
    own: (d) => expect(d.workloadPool.map((p: any) => p.total - p.available - p.provisioning - p.assigned)).toEqual([0, 0]),
  },
  {
    op: 'Subscription', field: 'projectChanges', access: 'own', doc: `subscription { projectChanges { ${CHANGE} } }`,
    live: { trigger: churn, heard: (data) => data.some((d) => d.projectChanges.deleted) },
    own: (data, self) => {
      const changes = data.map((d: any) => d.projectChanges);
      onlyMine(changes, self);
      expect(changes.map((c: any) => c.serviceName)).toEqual(changes.map(() => 'bob-churn'));
      expect(changes.at(-1).deleted).toBe(true);
    },
  },
  { op: 'Subscription', field: 'provisionStatus', access: 'notFound', doc: `subscription($id: Int!) { provisionStatus(projectId: $id, afterSeq: 1) { ${EVENT} } }`, vars: projectId },
];

const REST: RestEntry[] = [
  { method: 'POST', route: '/api/login', access: 'public', body: (t) => ({ user_id: t.login.username, password: t.login.password }) },
  { method: 'POST', route: '/api/signup', access: 'public', body: (t) => ({ username: t.newUser, password: 'signup-password-1' }) },
  { method: 'GET', route: '/api/public/settings', access: 'public' },
  { method: 'POST', route: '/api/design/preview', access: 'public', body: () => ({ serviceName: 'matrix-preview', config: PREVIEW_DESIGN }) },
  { method: 'GET', route: '/healthz', access: 'public' },
  { method: 'GET', route: '/livez', access: 'public' },
  { method: 'GET', route: '/metrics', access: 'scrape' },
  // The OpenAPI document and its interactive reference (@fastify/swagger-ui's pages and files).
  { method: 'GET', route: '/openapi.json', access: 'public' },
  { method: 'GET', route: '/docs', access: 'public' },
  { method: 'GET', route: '/docs/', access: 'public' },
  { method: 'GET', route: '/docs/json', access: 'public' },
  { method: 'GET', route: '/docs/yaml', access: 'public' },
  { method: 'GET', route: '/docs/static/index.html', access: 'public' },
  { method: 'GET', route: '/docs/static/swagger-initializer.js', access: 'public' },
  { method: 'GET', route: '/docs/static/*', access: 'public', path: '/docs/static/swagger-ui.css' },
  { method: 'POST', route: '/api/logout', access: 'own', fresh: true },
  { method: 'GET', route: '/api/me', access: 'own', own: (b, self) => expect([b.username, b.usage.projects]).toEqual([self.username, self.projects.length]) },
  { method: 'POST', route: '/api/me/password', access: 'own', body: (t) => ({ current_password: t.password, new_password: t.password }) },
  { method: 'GET', route: '/api/history', access: 'own', own: myProjects },
  { method: 'GET', route: '/api/api/history', access: 'own', own: myProjects },
  { method: 'GET', route: '/api/projects', access: 'own', own: myProjects },
  { method: 'GET', route: '/api/monitoring/my-resources', access: 'own', own: onlyMine },
  {
    method: 'POST', route: '/api/provision', access: 'forbidden', headers: (t) => ({ 'idempotency-key': `matrix-${t.newUser}` }),
    body: (t) => ({ serviceName: 'ordered-as-other', userName: t.user, config: { template: 'single' }, targetInfra: 'vsphere' }),
  },
  { method: 'DELETE', route: '/api/provision/:id', access: 'notFound' },
  { method: 'POST', route: '/api/provision/:id/cancel', access: 'notFound' },
  { method: 'POST', route: '/api/provision/:id/retry', access: 'notFound' },
  { method: 'GET', route: '/api/admin/users', access: 'admin', query: () => '?status=approved' },
  { method: 'GET', route: '/api/admin/pending-users', access: 'admin' },
  { method: 'POST', route: '/api/admin/approve-user/:username', access: 'admin' },
  { method: 'POST', route: '/api/admin/reject-user/:username', access: 'admin', pending: true },
  { method: 'POST', route: '/api/admin/disable-user/:username', access: 'admin' },
  { method: 'POST', route: '/api/admin/users/:username/role', access: 'admin', body: () => ({ role: 'admin' }) },
  { method: 'POST', route: '/api/admin/users/:username/password', access: 'admin', body: () => ({ new_password: 'taken-over-by-matrix' }) },
  { method: 'POST', route: '/api/admin/users/:username/quota', access: 'admin', body: () => ({ max_vms: 0, max_cpu: 0, max_ram: 0, max_disk: 0 }) },
  { method: 'GET', route: '/api/admin/settings', access: 'admin' },
  { method: 'POST', route: '/api/admin/settings', access: 'admin', body: (t) => ({ admin_password: t.password, system_notice: NOTICE }) },
  { method: 'GET', route: '/api/admin/stats', access: 'admin' },
  { method: 'GET', route: '/api/admin/audit', access: 'admin', query: (t) => `?actor=${t.user}&limit=200` },
  { method: 'GET', route: '/api/admin/pool', access: 'admin', query: (t) => `?limit=500&search=${t.newHost}` },
  { method: 'POST', route: '/api/admin/pool', access: 'admin', body: (t) => ({ hosts: [{ vm_name: 'matrix-host', ip_address: t.newHost, infra: 'aws' }] }) },
  { method: 'POST', route: '/api/admin/pool/check', access: 'admin', body: (t) => ({ ids: [t.poolHost] }) },
  { method: 'DELETE', route: '/api/admin/pool/:id', access: 'admin' },
  { method: 'POST', route: '/api/admin/pool/:id/drain', access: 'admin' },
  { method: 'POST', route: '/api/admin/pool/:id/undrain', access: 'admin' },
  { method: 'POST', route: '/api/admin/pool/:id/reset-host-key', access: 'admin' },
];
/** The admin-only operations: the table must classify exactly these as admin. */
const ADMIN_OPERATIONS = [
  'users', 'pendingUsers', 'approveUser', 'rejectUser', 'disableUser', 'setUserRole', 'resetUserPassword', 'setUserQuota', 'createUser', 'adminSettings', 'updateAdminSettings', 'adminStats', 'auditLog',
  'poolHosts', 'addPoolHosts', 'removePoolHost', 'drainPoolHost', 'undrainPoolHost', 'resetPoolHostKey', 'checkPoolHosts',
];
/**
 * WebSocket paths the server upgrades. /graphql: the Subscription entries above. /ws/terminal: a
 * shell on a host of one's own COMPLETED project (admins: any) — Bob is refused Alice's project
 * (4403) and her host under his own project (4404), a caller without a token 4401, all before
 * any SSH connection; the admin passes the checks and reaches the SSH step (4503 here: the
 * matrix's server has no SSH account). Shells themselves: tests/integration/terminal.test.ts.
 */
const SOCKETS = ['/graphql', '/ws/terminal'];
/** What a terminal refusal says (code, reason), by who asks. */
const TERMINAL_REFUSAL = {
  bob: [4403, 'Not your project'],
  bobOwnProject: [4404, 'The host is not one of the project’s hosts'],
  anonymous: [4401, 'Not authenticated'],
  admin: [4503, 'No SSH account and key are configured for the hosts'],
} as const;

/** Routes outside the table: GraphQL itself (covered operation by operation) and the CORS preflight (headers only). */
const TRANSPORT = ['GET /graphql', 'OPTIONS /graphql', 'POST /graphql', 'OPTIONS *'];

const GQL_REFUSAL: Record<Exclude<Outcome, 'ok'>, [string, string]> = {
  notFound: ['NOT_FOUND', 'Not Found'],
  admin: ['FORBIDDEN', ADMIN_ONLY],
  forbidden: ['FORBIDDEN', NOT_OWN_ORDER],
  unauthenticated: ['UNAUTHENTICATED', 'Not authenticated'],
};
const REST_REFUSAL: Record<Exclude<Outcome, 'ok'>, [number, string]> = {
  notFound: [404, 'Not Found'],
  admin: [403, ADMIN_ONLY],
  forbidden: [403, NOT_OWN_ORDER],
  unauthenticated: [401, 'Not authenticated'],
};

/** The scrape token of the matrix's server: /metrics is on in test mode either way, here behind a token. */
const METRICS_TOKEN = 'access-matrix-scrape-token-0123456789';
/** Terminal attempts whose answers join the leak scan (Bob twice, the anonymous caller once). */
const TERMINAL_CALLS = 3;

function outcomeOf(caller: Caller | 'admin', access: Access): Outcome {
  if (access === 'scrape') return 'unauthenticated';
  if (access === 'public' || caller === 'admin') return 'ok';
  if (caller === 'anonymous') return 'unauthenticated';
  return access === 'own' ? 'ok' : access;
}

const gqlName = (e: GqlEntry) => `${e.op}.${e.field}`;
const restName = (e: RestEntry) => `${e.method} ${e.route}`;
const urlOf = (e: RestEntry, t: Targets) =>
  e.path ??
  e.route.replace(':id', String(e.route.startsWith('/api/admin/pool/') ? t.poolHost : t.project)).replace(':username', encodeURIComponent(e.pending ? t.pending : t.user)) + (e.query?.(t) ?? '');

function operationsOf(schema: GraphQLSchema): string[] {
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  return roots.flatMap((type) => (type ? Object.keys(type.getFields()).map((f) => `${type.name}.${f}`) : [])).sort();
}

/** Runs a subscription to its end: what it delivered, and the errors it ended with. */
async function follow(client: Client, query: string, variables: Record<string, unknown>): Promise<{ data?: unknown; errors?: any[] }> {
  const events: unknown[] = [];
  const errors: any[] = [];
  const run = (async () => {
    try {
      for await (const result of client.iterate({ query, variables })) {
        if (result.data) events.push(result.data);
        errors.push(...(result.errors ?? []));
      }
    } catch (err) {
      errors.push(...(Array.isArray(err) ? err : [err]));
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('subscription did not end')), 10_000);
  });
  await Promise.race([run, timeout]).finally(() => clearTimeout(timer));
  return { data: events.length ? events : undefined, errors: errors.length ? errors : undefined };
}

/** Listens while `trigger` runs, until `heard` (or a timeout), then unsubscribes: what arrived and any errors. */
async function listenWhile(client: Client, query: string, live: NonNullable<GqlEntry['live']>, ctx: LiveContext): Promise<{ data?: unknown[]; errors?: any[] }> {
  const events: any[] = [];
  const errors: any[] = [];
  const before = ctx.server.app.services.projects.changeListenerCount();
  const stop = client.subscribe<any>({ query }, {
    next: (msg) => {
      if (msg.data) events.push(msg.data);
      errors.push(...(msg.errors ?? []));
    },
    error: (err) => errors.push(...(Array.isArray(err) ? err : [err])),
    complete: () => undefined,
  });
  try {
    await waitFor(() => errors.length > 0 || ctx.server.app.services.projects.changeListenerCount() > before, 5_000, 'the subscription to start');
    if (errors.length === 0) {
      await live.trigger(ctx);
      await waitFor(() => errors.length > 0 || live.heard(events, ctx.self), 10_000, 'the live changes');
    }
  } finally {
    stop();
  }
  return { data: events.length ? events : undefined, errors: errors.length ? errors : undefined };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** A value found only as a whole token: 10.99.0.1 is not in 10.99.0.12, EC2-1 is not in EC2-10. */
const tokenRe = (s: string) => new RegExp(`(?<![\\w.])${escape(s)}(?!\\w)`);
const ID_KEYS = new Set(['id', 'projectId', 'project_id']);

const BOB_PASSWORD = 'bob-password-1';
const ALICE_PASSWORD = 'alice-password-1';

for (const backend of await backendsFor('access matrix')) {
  describe(`access matrix: Bob and an anonymous caller against Alice (${backend})`, () => {
    let server: TestServer;
    let tokens: { alice: string; bob: string };
    let aliceIds: number[];
    /** A pool host one of Alice's projects holds. */
    let alicesHost: number;
    let self: Self;
    let snapshot: Awaited<ReturnType<typeof capture>>;
    let needles: { value: string; re: RegExp }[];
    const bodies: { label: string; body: unknown }[] = [];
    let counter = 0;

    const gqlAs = async (token: string, doc: string, variables: Record<string, unknown> = {}) => {
      const res = await server.gql(doc, variables, token);
      expect(res.errors, doc).toBeUndefined();
      return res.data;
    };

    /** Everything of Alice's an access slip could change, plus the portal-wide state around it. */
    async function capture() {
      const admin = server.adminToken;
      const get = async (path: string, token: string) => (await server.request('GET', path, { token })).body;
      const projects = [];
      for (const id of aliceIds) {
        projects.push(await gqlAs(tokens.alice, `query($id: Int!) { project(id: $id) { ${PROJECT} } projectEvents(projectId: $id, limit: 200) { lastSeq hasMore events { ${EVENT} } } }`, { id }));
      }
      const portal = await gqlAs(admin, `{ users { ${USER} } adminSettings { ${SETTINGS} } history(first: 100) { nodes { id owner status serviceName assignedIp } } resources(first: 200) { totalCount nodes { ${ROW} } } }`);
      // every pool host's state, a page per infrastructure (within the complexity limit)
      const poolHosts = [];
      for (const infra of ['aws', 'vsphere']) {
        poolHosts.push(await gqlAs(admin, `query($infra: InfraType) { poolHosts(first: 300, infra: $infra) { totalCount nodes { id status projectId drainRequested hostKeySet checkOk } } }`, { infra }));
      }
      return {
        history: await get('/api/history', tokens.alice),
        myResources: await get('/api/monitoring/my-resources', tokens.alice),
        projects,
        own: await gqlAs(tokens.alice, `{ history(first: 50) { edges { cursor node { id } } } me { ${USER} } myQuota { limit { hosts vcpu memoryGb diskGb } used { ${USAGE} } } resources(first: 200) { totalCount nodes { ${ROW} } } resourceSummary { hosts projects derivedRows rows } }`),
        heldHosts: portal.resources.nodes.filter((r: any) => r.kind === 'host' && r.owner === 'alice'),
        account: portal.users.find((u: any) => u.username === 'alice'),
        canSignIn: await server.login('alice', ALICE_PASSWORD).then(() => true, () => false),
        portal: { ...portal, poolHosts, users: portal.users.filter((u: any) => ['admin', 'alice', 'bob', 'carol'].includes(u.username)) },
      };
    }

    /** Values that identify Alice: a whole-token hit of any of them in Bob's answers is a leak. */
    function leaksIn(body: unknown): string[] {
      const text = JSON.stringify(body) ?? '';
      const found = needles.filter((n) => n.re.test(text)).map((n) => n.value);
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) return v.forEach(walk);
        if (!v || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          // a project id under an id key; an account object's own id is a user id, not a project
          if (ID_KEYS.has(k) && !('username' in v) && aliceIds.includes(x as number)) found.push(`${k}=${x}`);
          walk(x);
        }
      };
      walk(body);
      return found;
    }

    const targetsFor = (caller: Caller): Targets => ({
      project: aliceIds[0],
      cursor: encodeCursor(Math.max(...aliceIds) + 1),
      user: 'alice',
      pending: 'alice',
      newUser: `${caller}-signup-${++counter}`,
      password: BOB_PASSWORD,
      login: { username: 'bob', password: BOB_PASSWORD },
      poolHost: alicesHost,
      newHost: `10.250.${Math.floor(counter / 250)}.${(counter % 250) + 1}`,
    });
    const tokenOf = async (caller: Caller, fresh?: boolean) =>
      caller === 'anonymous' ? undefined : fresh ? server.login('bob', BOB_PASSWORD) : tokens.bob;

    beforeAll(async () => {
      server = await startTestServer({ backend, env: { METRICS_TOKEN } });
      tokens = { alice: await server.createUser('alice', ALICE_PASSWORD), bob: await server.createUser('bob', BOB_PASSWORD) };
      await server.createUser('carol');
      // Bob orders first, so a history cursor just above Alice's ids still reaches his project.
      const bobs = await server.request('POST', '/api/provision', { token: tokens.bob, body: { serviceName: 'bob-own', config: { template: 'single' }, targetInfra: 'vsphere' } });
      const rest = await server.request('POST', '/api/provision', { token: tokens.alice, body: { serviceName: 'alice-rest', config: { template: 'standard' }, targetInfra: { type: 'vsphere' } } });
      const gql = await gqlAs(tokens.alice, 'mutation($input: ProvisionInput!) { provision(input: $input) { id } }', { input: { serviceName: 'alice-gql', config: { instanceType: 't3.micro', nodeCount: 2 } } });
      aliceIds = [rest.body.project_id, gql.provision.id];
      self = { username: 'bob', projects: [bobs.body.project_id] };
      expect((await waitForFinalStatus(server, self.projects[0], tokens.bob)).status).toBe('COMPLETED');
      for (const id of aliceIds) expect((await waitForFinalStatus(server, id, tokens.alice)).status).toBe('COMPLETED');
      alicesHost = (await gqlAs(server.adminToken, '{ poolHosts(first: 500, status: assigned) { nodes { id owner } } }')).poolHosts.nodes.find((h: any) => h.owner === 'alice').id;

      snapshot = await capture();
      const values = [
        'alice',
        ...snapshot.history.map((p: any) => p.service_name),
        ...snapshot.myResources.flatMap((r: any) => [r.ip_address, r.vm_name]),
        ...snapshot.history.map((p: any) => p.assigned_ip),
        ...aliceIds.map(encodeCursor),
      ];
      needles = [...new Set(values)].filter((v) => !['ALB', 'Web', 'DB'].includes(v) && !/^SSH-\d+$/.test(v)).map((value) => ({ value, re: tokenRe(value) }));
    });
    afterAll(() => server?.close());

    it('has exactly one entry per Query, Mutation and Subscription field of schema.graphql, which matches the server', async () => {
      const file = operationsOf(buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8')));
      expect(operationsOf(await buildGraphQLSchema())).toEqual(file);
      expect(GRAPHQL.map(gqlName).sort()).toEqual(file);
      expect(GRAPHQL.filter((e) => e.access === 'admin').map((e) => e.field).sort()).toEqual([...ADMIN_OPERATIONS].sort());
    });

    it('has exactly one entry per route Fastify serves (HEAD only as the twin of a GET)', async () => {
      const { routes, unparsed, unknown } = registeredRoutes(server.app.http);
      expect([unparsed, unknown]).toEqual([[], []]);
      const methodless = (method: string) => routes.filter((r) => r.startsWith(`${method} `)).map((r) => r.slice(method.length + 1));
      expect(methodless('HEAD')).toEqual(methodless('GET'));
      expect(routes.filter((r) => !r.startsWith('HEAD '))).toEqual([...REST.map(restName), ...TRANSPORT].sort());
      // the CORS preflight never reaches a handler: no body, or 404 while no CORS origin is configured
      for (const path of REST.map((e) => urlOf(e, targetsFor('bob')))) {
        const preflight = await server.request('OPTIONS', path, { headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' } });
        expect([null, { detail: 'Not Found' }], path).toContainEqual(preflight.body);
      }
      // every /api/admin/ path is admin-only, and nothing else is
      for (const e of REST) expect([restName(e), e.access === 'admin']).toEqual([restName(e), e.route.startsWith('/api/admin/')]);
    });

    it('has exactly one entry per WebSocket path the server upgrades', () => {
      expect(webSocketPaths(server.app.http.server)).toEqual([...SOCKETS].sort());
    });

    /** Opens a terminal and answers how it closed (no shell may have started). */
    const terminalEnd = async (label: string, token: string | undefined, project: number, host: string) => {
      const t = openTerminal(server.url, { token, project, host });
      const end = await t.closed;
      expect([t.messages, t.output()], label).toEqual([[], '']);
      bodies.push({ label, body: end });
      return [end.code, end.reason];
    };
    const hostsOf = async (owner: string) =>
      ((await gqlAs(server.adminToken, '{ poolHosts(first: 500, status: assigned) { nodes { ipAddress owner projectId } } }')).poolHosts.nodes as any[]).filter((h) => h.owner === owner);

    it('bob: WS /ws/terminal (owner) → 4403 for her project, 4404 for her host under his own project', async () => {
      const [hers] = await hostsOf('alice');
      expect(await terminalEnd('bob WS /ws/terminal', tokens.bob, hers.projectId, hers.ipAddress)).toEqual(TERMINAL_REFUSAL.bob);
      expect(await terminalEnd('bob WS /ws/terminal (his project)', tokens.bob, self.projects[0], hers.ipAddress)).toEqual(TERMINAL_REFUSAL.bobOwnProject);
    });

    it('anonymous: WS /ws/terminal (owner) → 4401', async () => {
      const [hers] = await hostsOf('alice');
      expect(await terminalEnd('anonymous WS /ws/terminal', undefined, hers.projectId, hers.ipAddress)).toEqual(TERMINAL_REFUSAL.anonymous);
    });

    it("the admin passes the terminal's checks on Alice's host (so the refusals are not vacuous)", async () => {
      const [hers] = await hostsOf('alice');
      const t = openTerminal(server.url, { token: server.adminToken, project: hers.projectId, host: hers.ipAddress });
      const end = await t.closed;
      expect([end.code, end.reason]).toEqual(TERMINAL_REFUSAL.admin);
    });

    for (const caller of ['bob', 'anonymous'] as const) {
      for (const e of GRAPHQL) {
        const outcome = outcomeOf(caller, e.access);
        it(`${caller}: ${gqlName(e)} (${e.access}) → ${outcome}`, async () => {
          const token = await tokenOf(caller, e.fresh);
          const variables = e.vars?.(targetsFor(caller)) ?? {};
          const res =
            e.op !== 'Subscription'
              ? await server.gql(e.doc, variables, token)
              : e.live && outcome === 'ok'
                ? await listenWhile(server.wsClient(token), e.doc, e.live, { server, tokens, self })
                : await follow(server.wsClient(token), e.doc, variables);
          bodies.push({ label: `${caller} ${gqlName(e)}`, body: res });
          if (outcome === 'ok') {
            expect(res.errors).toBeUndefined();
            expect((res.data as any)?.[e.field]).not.toBeNull();
            if (caller === 'bob') e.own?.(res.data, self);
          } else {
            expect(res.data ?? null).toBeNull();
            expect((res.errors ?? []).map((err) => [err.extensions?.code, err.message])).toEqual([GQL_REFUSAL[outcome]]);
          }
        });
      }
      for (const e of REST) {
        const outcome = outcomeOf(caller, e.access);
        it(`${caller}: ${restName(e)} (${e.access}) → ${outcome}`, async () => {
          const t = targetsFor(caller);
          const token = await tokenOf(caller, e.fresh);
          const res = await server.request(e.method, urlOf(e, t), { token, body: e.body?.(t), headers: e.headers?.(t) });
          bodies.push({ label: `${caller} ${restName(e)}`, body: res.body });
          if (outcome === 'ok') {
            expect(res.status, JSON.stringify(res.body)).toBe(200);
            if (caller === 'bob') e.own?.(res.body, self);
          } else {
            const [status, detail] = REST_REFUSAL[outcome];
            expect([res.status, res.body]).toEqual([status, { detail }]);
          }
          if (e.method === 'GET') expect((await server.request('HEAD', urlOf(e, t), { token })).status).toBe(res.status);
        });
      }
    }

    it("left Alice's projects, events, resources, hosts, account and the portal settings exactly as they were", async () => {
      expect(snapshot.history.map((p: any) => p.status)).toEqual(['COMPLETED', 'COMPLETED']);
      expect(snapshot.projects.map((p: any) => [p.project.status, p.projectEvents.hasMore])).toEqual([['COMPLETED', false], ['COMPLETED', false]]);
      expect(snapshot.heldHosts.length).toBeGreaterThan(0);
      expect(snapshot.canSignIn).toBe(true);
      expect(await capture()).toEqual(snapshot);
    });

    it("no answer in the matrix held any of Alice's identifying values", () => {
      expect(bodies.length).toBe(2 * (GRAPHQL.length + REST.length) + TERMINAL_CALLS);
      // The scanner is not vacuous: each needle and each project id is found in Alice's own data.
      const own = JSON.stringify(snapshot);
      expect(needles.filter((n) => !n.re.test(own)).map((n) => n.value)).toEqual([]);
      expect(needles.length).toBeGreaterThan(10);
      expect(leaksIn(snapshot.history)).toEqual(expect.arrayContaining(aliceIds.map((id) => `id=${id}`)));
      expect(bodies.flatMap(({ label, body }) => leaksIn(body).map((leak) => `${label}: ${leak}`))).toEqual([]);
    });

    it('the admin reaches every admin-only entry (so the refusals are not vacuous)', async () => {
      const adminTargets = async (): Promise<Targets> => {
        const pending = `pending-${++counter}`;
        expect((await server.request('POST', '/api/signup', { body: { username: pending, password: 'signup-password-1' } })).status).toBe(200);
        // a free host each time: the admin's remove deletes it and drain takes it out of service
        const free = (await gqlAs(server.adminToken, '{ poolHosts(first: 1, status: available, infra: aws) { nodes { id } } }')).poolHosts.nodes[0].id;
        return { ...targetsFor('bob'), user: 'carol', pending, newUser: `created-${counter}`, password: ADMIN.password, poolHost: free };
      };
      const reached: string[] = [];
      for (const e of GRAPHQL.filter((x) => x.access === 'admin')) {
        const res = await server.gql(e.doc, e.vars?.(await adminTargets()) ?? {}, server.adminToken);
        expect(res.errors, gqlName(e)).toBeUndefined();
        expect(res.data?.[e.field], gqlName(e)).toBeTruthy();
        reached.push(gqlName(e));
      }
      for (const e of REST.filter((x) => x.access === 'admin')) {
        const t = await adminTargets();
        const res = await server.request(e.method, urlOf(e, t), { token: server.adminToken, body: e.body?.(t) });
        expect(res.status, `${restName(e)} ${JSON.stringify(res.body)}`).toBe(200);
        reached.push(restName(e));
      }
      expect(reached.length).toBe(ADMIN_OPERATIONS.length + REST.filter((x) => x.route.startsWith('/api/admin/')).length);
    });

    it("the scrape token reaches every scrape entry and an admin's token does not (so the refusals are not vacuous)", async () => {
      const scrape = REST.filter((x) => x.access === 'scrape');
      expect(scrape.map(restName)).toEqual(['GET /metrics']);
      for (const e of scrape) {
        const t = targetsFor('bob');
        expect((await server.request(e.method, urlOf(e, t), { token: METRICS_TOKEN })).status, restName(e)).toBe(200);
        const admin = await server.request(e.method, urlOf(e, t), { token: server.adminToken });
        expect([admin.status, admin.body], restName(e)).toEqual([401, { detail: 'Not authenticated' }]);
      }
    });
  });
}
