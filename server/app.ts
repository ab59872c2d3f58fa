/**
 * Builds the whole server from a config: database (with fallback and migrations), services,
 * the background dispatcher, Fastify with Apollo (HTTP) and graphql-ws (WebSocket) on
 * `/graphql`, the old REST paths, `/healthz` and the console's static files.
 * Nothing happens at import time; `createApp` does it all and `close` undoes it.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Config } from './config/index.js';
import { migrate, openDatabase, type DatabaseInfo, type Orm } from './db/orm.js';
import { sql } from './db/sql.js';
import { buildContext, type GraphQLContext } from './graphql/context.js';
import { attachGraphQLWebSocket } from './graphql/websocket.js';
import { attachTerminalWebSocket } from './websocket/terminal.js';
import { WebSocketRoutes } from './websocket/upgrades.js';
import { formatGraphQLError } from './graphql/errors.js';
import { CompiledExecution } from './graphql/executor.js';
import { registerGraphQLHttp } from './graphql/http.js';
import { limitRules, operationLimitsPlugin } from './graphql/limits.js';
import { noStorePlugin } from './graphql/no-store.js';
import { buildGraphQLSchema } from './graphql/schema.js';
import { registerCompression, registerConditionalGets, staticCacheControl } from './http-caching.js';
import { registerHealthRoutes } from './health.js';
import { registerHttpSecurity } from './http-security.js';
import { loggerOptions } from './logging.js';
import { registerPlatformMetrics } from './observability/metrics.js';
import { makeErrorHandler } from './rest/errors.js';
import { DOCS_PREFIX, OPENAPI_PATH, registerOpenApi } from './rest/openapi.js';
import { registerAccountRoutes } from './rest/account-routes.js';
import { registerDesignRoutes } from './rest/design-routes.js';
import { registerPoolRoutes } from './rest/pool-routes.js';
import { registerRestRoutes } from './rest/routes.js';
import { Dispatcher } from './runners/dispatcher.js';
import { AnsibleRunner } from './runners/ansible/ansible-runner.js';
import { MockRunner } from './runners/mock-runner.js';
import type { Runner } from './runners/runner.js';
import { DatabaseUnavailableError, databaseUnavailableError, DomainError } from './services/errors.js';
import { ProjectEventBus } from './services/event-bus.js';
import { LocalFeed, PgFeed, type EventFeed } from './services/event-feed.js';
import type { Services } from './services/index.js';
import { ProjectJournal } from './services/project-journal.js';
import { readChangesSince } from './services/project-rows.js';
import { ProjectService } from './services/projects.js';
import { resolveTokenSecret } from './services/secrets.js';
import { AuditLog } from './services/audit.js';
import { unreadableSecrets } from './services/key-rotation.js';
import { LoginGuard } from './services/login-guard.js';
import { createMetricsSource } from './services/metrics.js';
import { PrometheusTargets } from './services/prometheus-targets.js';
import { MonitoringService } from './services/monitoring.js';
import { PoolAdminService } from './services/pool-admin.js';
import { QuotaService } from './services/quotas.js';
import { SecretBox } from './services/secret-box.js';
import { SessionService } from './services/sessions.js';
import { TerminalSessions } from './services/terminal-sessions.js';
import { parseKnownHosts, SshAccess } from './services/ssh-access.js';
import { ensureSettingsRow, vcenterAccess } from './services/settings.js';
import { TokenService } from './services/tokens.js';
import { UserAdminService } from './services/user-admin.js';
import { ensureAdmin, UserService } from './services/users.js';
import { hostsOfCidr, WorkloadPool } from './services/workload-pool.js';

export interface App {
  http: FastifyInstance;
  services: Services;
  dispatcher: Dispatcher;
  orm: Orm;
  database: DatabaseInfo;
  /** How GraphQL operations over HTTP are executed (compiled once they repeat). */
  graphqlExecution: CompiledExecution;
  /** Set when this start created the first admin with a generated password (development only). */
  generatedAdminPassword?: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Replaces the configured runner (tests). */
  runner?: Runner;
  /** Fastify logger setting; default: {@link loggerOptions} (pretty in development, JSON lines otherwise). */
  logger?: boolean | object;
  /** Fail every answer its response schema does not describe exactly (tests; rest/response-check.ts). */
  checkResponses?: boolean;
  /** false: every GraphQL request over HTTP goes through Apollo's pipeline (tests compare; graphql/fast-path.ts). */
  graphqlFastPath?: boolean;
}

function createRunner(config: Config, ssh: SshAccess, vcenter: () => ReturnType<typeof vcenterAccess>): Runner {
  if (config.runner === 'ansible') {
    return new AnsibleRunner({ config: config.ansible, catalog: config.catalog, access: ssh, vcenter, parseKnownHosts });
  }
  return new MockRunner({
    steps: config.catalog.mockSteps,
    stepDelayMs: config.mockStepDelayMs,
    provisioning: config.catalog.provisioning,
  });
}

/** GraphQL errors for the caller resolved at context time (bad token → 401, database unreachable → 503). */
function contextError(err: unknown): never {
  const domain = err instanceof DomainError ? err : databaseUnavailableError(err);
  if (domain instanceof DatabaseUnavailableError) {
    const headers = new HeaderMap([['retry-after', String(domain.retryAfterSeconds)]]);
    throw new GraphQLError(domain.message, { extensions: { code: domain.code, retryAfter: domain.retryAfterSeconds, http: { status: 503, headers } } });
  }
  if (domain) {
    const status = domain.code === 'UNAUTHENTICATED' ? 401 : 400;
    throw new GraphQLError(domain.message, { extensions: { code: domain.code, http: { status } } });
  }
  throw err;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const http = Fastify({
    logger: options.logger ?? loggerOptions(config),
    bodyLimit: config.bodyLimitBytes,
    // On close, idle keep-alive connections are dropped and requests in flight are answered
    // (an order that was stored must reach its client); see close() for the time limit.
    forceCloseConnections: 'idle',
  });
  // The API speaks JSON only: without this, Fastify's default text/plain parser hands the
  // routes a string, so a text/plain body answered 422 instead of 415 Unsupported Media Type.
  http.removeContentTypeParser('text/plain');
  // Security headers on every response, CORS only for CORS_ORIGINS (see http-security.ts).
  await registerHttpSecurity(http, config);
  // ETags and 304 on the answers that repeat, then compression (in that order: the ETag is of
  // the answer itself, and compression adds to Vary what caching set); see http-caching.ts.
  registerConditionalGets(http);
  registerCompression(http);
  // The OpenAPI document (/openapi.json, /docs) from the routes' schemas, and the schemas' validation; before any route (rest/openapi.ts).
  await registerOpenApi(http, { checkResponses: options.checkResponses });
  const log = http.log;
  // The platform's own /metrics and request timing, before any route (observability/metrics.ts).
  const platformMetrics = registerPlatformMetrics(http, config.metrics, log);

  const { orm, info: database } = await openDatabase(config, log);
  let closeFeed: (() => Promise<void>) | undefined;
  let stopDispatcher: (() => Promise<void>) | undefined;
  let closeTargets: (() => Promise<void>) | undefined;
  try {
    const applied = await migrate(orm);
    if (applied.length) log.info({ migrations: applied }, 'database migrated');

    const fork = () => orm.em.fork();
    const tokens = new TokenService(resolveTokenSecret(config, log), config.sessionTtlMinutes);
    const audit = new AuditLog(fork);
    const users = new UserService(tokens, new LoginGuard(config.login), audit);
    const userAdmin = new UserAdminService(audit, config.defaultQuota);
    const sessions = new SessionService(tokens, fork);
    const secrets = new SecretBox(config.encryptKey, config.previousEncryptKeys);
    const quotas = new QuotaService(config.defaultQuota);
    const ssh = new SshAccess(fork, secrets, { user: config.ansible.sshUser, keyFile: config.ansible.sshPrivateKeyFile });
    await ensureSettingsRow(orm.em.fork(), config.initialPortalLimits);
    const unreadable = await unreadableSecrets(orm.em.fork(), secrets);
    if (unreadable.length) {
      // A wrong ENCRYPT_KEY would otherwise only show when a runner needs the credentials.
      const message = `Stored secrets cannot be opened with ENCRYPT_KEY / ENCRYPT_KEYS_PREVIOUS: ${unreadable.join('; ')}`;
      if (config.isProduction) throw new Error(message);
      log.error(message);
    }
    const admin = await ensureAdmin(orm.em.fork(), {
      username: config.adminUsername,
      password: config.adminPassword,
      isProduction: config.isProduction,
    });
    if (admin.generatedPassword) {
      log.warn(`First start: created admin "${config.adminUsername}" with generated password ${admin.generatedPassword} (shown once; set ADMIN_PASSWORD to choose one)`);
    }

    const pool = new WorkloadPool(orm);
    const seeds = config.workloadPool ?? [...hostsOfCidr(config.ipPools.aws, 'aws'), ...hostsOfCidr(config.ipPools.vsphere, 'vsphere')];
    const added = await pool.seed(orm.em.fork(), seeds);
    if (added) log.info(`workload pool: added ${added} hosts`);

    const bus = new ProjectEventBus();
    // On PostgreSQL every instance hears every committed change (LISTEN/NOTIFY); the embedded
    // SQLite mode is one process and publishes in-process.
    let projects: ProjectService | undefined;
    const feed: EventFeed =
      database.backend === 'postgresql' && config.databaseUrl
        ? new PgFeed({
            url: config.databaseUrl,
            bus,
            logger: log,
            loadEvents: (projectId, afterSeq, upToSeq) =>
              projects!.storedEvents(orm.em.fork(), projectId, afterSeq, upToSeq === undefined ? 1000 : upToSeq - afterSeq),
            loadChanges: (since) => readChangesSince(orm.em, since, 10_000),
          })
        : new LocalFeed(bus);
    await feed.start();
    closeFeed = () => feed.close();
    // A logout closes the token's open sockets on every instance, not only this one.
    feed.onRevocation((jti) => sessions.revoked(jti));
    sessions.useBroadcast((jti) => feed.announceRevocation(jti));
    // A token's state (logged out? account approved, role) is remembered for a second; an
    // account change is forgotten here before the admin's action answers and on every instance
    // when the feed brings it; nothing is remembered while the feed may miss messages.
    feed.onAccountChange((username) => sessions.accountChanged(username));
    sessions.useAccountFeed({ announce: (username) => feed.announceAccountChange(username), live: () => feed.connected });
    userAdmin.onAccountChange((username) => sessions.announceAccountChange(username));
    const journal = new ProjectJournal(orm, feed);
    const dispatcher = new Dispatcher({
      orm,
      journal,
      pool,
      feed,
      bus,
      runner: options.runner ?? createRunner(config, ssh, () => vcenterAccess(orm.em.fork(), secrets)),
      catalog: config.catalog,
      concurrency: config.runnerConcurrency,
      timing: config.runnerTiming,
      logger: log,
      runs: platformMetrics ?? undefined,
    });
    stopDispatcher = () => dispatcher.close();
    projects = new ProjectService(config.catalog, journal, pool, bus, dispatcher, quotas, audit, config.historyMaxPageSize, config.idempotencyTtlHours, config.runnerTiming.outageGraceMs);
    const metrics = createMetricsSource(config.prometheusUrl, log);
    const poolAdmin = new PoolAdminService(audit, ssh);
    const monitoring = new MonitoringService(metrics, projects);
    // The console's SSH terminals (websocket/terminal.ts): ended by logout, account changes and teardown.
    const terminals = new TerminalSessions({ sessions, audit, ssh, bus, db: orm.em, limits: config.terminal, log });
    const services: Services = { catalog: config.catalog, database, projects, pool, poolAdmin, users, userAdmin, sessions, tokens, quotas, audit, secrets, ssh, metrics, monitoring, terminals, fork, sqlDb: orm.em };

    http.setErrorHandler(makeErrorHandler(config.bodyLimitBytes));

    const schema = await buildGraphQLSchema();
    // Token, depth, alias and complexity limits run before any resolver (graphql/limits.ts);
    // batching stays off and CSRF prevention on (Apollo's defaults).
    const hideSuggestions = config.isProduction;
    // Operations that repeat run as compiled queries (graphql/executor.ts).
    const execution = new CompiledExecution(schema, {
      compileAfter: config.graphql.compileAfter,
      onCompileError: (operationName, err) => log.warn({ operationName, err }, 'GraphQL operation cannot be compiled; it runs interpreted'),
    });
    const apollo = new ApolloServer<GraphQLContext>({
      gateway: execution.gateway(),
      introspection: !config.isProduction,
      hideSchemaDetailsFromClientErrors: config.isProduction,
      includeStacktraceInErrorResponses: false,
      allowBatchedHttpRequests: false,
      csrfPrevention: true,
      parseOptions: { maxTokens: config.graphql.maxTokens },
      validationRules: limitRules(config.graphql),
      formatError: (formatted: GraphQLFormattedError, error: unknown) => formatGraphQLError(formatted, error, log, { hideSuggestions }),
      // The landing page loads Apollo's sandbox from an external CDN, which our CSP forbids.
      // Cache-Control is always no-store (graphql/no-store.ts) instead of Apollo's per-field
      // cache-hint plugin; inline traces are for federated subgraphs, which this is not.
      // Shutdown is close() below (SIGTERM in main.ts): Apollo must not close Fastify on a signal
      // by itself, racing the requests still being answered.
      stopOnTerminationSignals: false,
      plugins: [
        operationLimitsPlugin(schema, config.graphql.maxComplexity),
        ApolloServerPluginLandingPageDisabled(),
        ApolloServerPluginCacheControlDisabled(),
        noStorePlugin(),
        ApolloServerPluginInlineTraceDisabled(),
      ],
    });
    await apollo.start();
    registerGraphQLHttp(http, apollo, {
      path: '/graphql',
      maxTokens: config.graphql.maxTokens,
      // Queries that already ran compiled are answered without Apollo's pipeline (graphql/fast-path.ts).
      fastPath: options.graphqlFastPath === false ? undefined : { execution, schema, maxComplexity: config.graphql.maxComplexity },
      context: async (request) => {
        try {
          return await buildContext(services, request.headers.authorization, request.ip);
        } catch (err) {
          return contextError(err);
        }
      },
    });

    // WebSocket upgrades by path: /graphql and /ws/terminal; any other path is refused (404).
    const webSocketRoutes = new WebSocketRoutes(http.server);
    const webSocket = attachGraphQLWebSocket({ routes: webSocketRoutes, schema, services, limits: config.graphql, isProduction: config.isProduction, maxPayload: config.bodyLimitBytes, outageGraceMs: config.runnerTiming.outageGraceMs, log });
    const terminalSocket = attachTerminalWebSocket({ routes: webSocketRoutes, terminals, log });

    registerRestRoutes(http, services, { maxPageSize: config.historyMaxPageSize });
    registerAccountRoutes(http, services);
    registerDesignRoutes(http, services);
    registerPoolRoutes(http, services);

    registerHealthRoutes(http, {
      database,
      // On PostgreSQL the feed's own connection when it has one, so a pool busy with requests does
      // not make a reachable database look unreachable.
      probe: () => (feed.execute && feed.connected ? feed.execute('select 1', []) : sql(orm.em, 'select 1')),
      runner: () => ({ name: options.runner?.name ?? config.runner, ...dispatcher.load }),
    });

    const indexHtml = join(config.clientDist, 'index.html');
    const hasClient = existsSync(indexHtml);
    if (hasClient) {
      await http.register(fastifyStatic, {
        root: config.clientDist,
        wildcard: false,
        index: ['index.html'],
        // The build's .br / .gz beside each file (scripts/precompress.mjs), when the client takes them.
        preCompressed: true,
        cacheControl: false,
        setHeaders: (res, path) => res.setHeader('cache-control', staticCacheControl(path)),
      });
      // The GraphQL playground is a page of its own (client/playground.html), not a console route.
      if (existsSync(join(config.clientDist, 'playground.html'))) {
        http.get('/playground', (_request, reply) => reply.type('text/html').sendFile('playground.html'));
      }
    }
    http.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0];
      const isApi = path.startsWith('/api/') || path === '/api' || path.startsWith('/graphql') || path.startsWith('/ws/') || path === '/healthz' || path === '/livez' || path === '/metrics' || path === OPENAPI_PATH || path === DOCS_PREFIX || path.startsWith(`${DOCS_PREFIX}/`);
      if (!isApi && request.method === 'GET' && hasClient) return reply.type('text/html').sendFile('index.html');
      return reply.status(404).send({ detail: 'Not Found' });
    });

    // Prometheus' list of hosts to scrape, rebuilt now and kept current (services/prometheus-targets.ts).
    const targets = config.prometheusSdFile
      ? new PrometheusTargets({ path: config.prometheusSdFile, port: config.nodeExporterPort, db: orm.em, bus, postgres: database.backend === 'postgresql', logger: log })
      : null;
    await targets?.start();
    closeTargets = () => targets?.close() ?? Promise.resolve();
    const started = await dispatcher.start();
    log.info(started, 'worker instance started');
    await platformMetrics?.start({ bus, dispatcher, pool, db: orm.em, postgres: database.backend === 'postgresql' });
    const purge = setInterval(() => {
      projects!.purgeIdempotencyKeys(orm.em.fork()).catch((err) => log.error({ err }, 'could not purge idempotency keys'));
    }, 3_600_000);
    purge.unref();

    let closed = false;
    return {
      http,
      services,
      dispatcher,
      orm,
      database,
      graphqlExecution: execution,
      generatedAdminPassword: admin.generatedPassword,
      listen: () => http.listen({ port: config.port, host: config.host }),
      close: async () => {
        if (closed) return;
        closed = true;
        clearInterval(purge);
        platformMetrics?.close();
        // 1. No new requests; those in flight finish (at most SHUTDOWN_GRACE_MS), sockets end.
        webSocketRoutes.close();
        await webSocket.close();
        // Terminal sessions end (1001) with their audit entries written while the database is there.
        await terminals.close();
        await terminalSocket.close();
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, config.runnerTiming.shutdownGraceMs);
        });
        await Promise.race([http.close(), grace]);
        clearTimeout(timer);
        http.server.closeAllConnections();
        await apollo.stop();
        // 2. Stop claiming; running jobs stop at their next safe point and are handed back.
        await dispatcher.close();
        await targets?.close();
        await feed.close();
        await orm.close();
      },
    };
  } catch (err) {
    platformMetrics?.close();
    await stopDispatcher?.().catch(() => undefined);
    await closeTargets?.().catch(() => undefined);
    await closeFeed?.().catch(() => undefined);
    await orm.close(true).catch(() => undefined);
    throw err;
  }
}
