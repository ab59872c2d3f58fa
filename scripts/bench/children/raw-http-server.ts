/**
 * The HTTP baseline: plain node:http plus the raw driver (better-sqlite3 or pg), running the
 * same SELECT / INSERT the product runs and answering the same JSON, with no framework, no
 * GraphQL engine, no ORM and no authentication (the caller is BENCH_OWNER). It serves:
 *
 * - GET  /api/history?limit=N       the REST history list (the product's historyItem shape)
 * - POST /api/provision             insert the project row and its two events, REST answer
 * - POST /graphql  operationName HistoryProject | HistoryPage | Provision: the console's
 *   operations, answered with the same `data` the product returns (no query parsing: the
 *   operation name picks a hand-written handler)
 * - GET  /api/monitoring/my-resources and POST /graphql MonitoringResources (benchmark 7): an
 *   admin's view (every row), the same two SELECTs / the same keyset page and counts
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { openSqlite, pgPlaceholders, type SqliteDatabase } from '../lib/db.js';
import { serveParent, usageNow } from '../lib/child.mjs';

const backend = process.env.BENCH_BACKEND === 'postgresql' ? 'postgresql' : 'sqlite';
const location = process.env.BENCH_DB ?? '';
const owner = process.env.BENCH_OWNER ?? 'bench';

interface Row {
  id: number;
  service_name: string;
  status: string;
  assigned_ip: string | null;
  template_type: string;
  owner: string;
  infra: string;
  details: string | Record<string, unknown>;
  last_seq: number;
  created_at: number | Date;
  updated_at: number | Date;
}

interface Details {
  config: Record<string, unknown>;
  logs: string[];
  resources: { alb_ip: string; web_url: string; db_vip: string; ssh_targets: { host: string; port: number; user: string }[] } | null;
  error: { message: string } | null;
  [key: string]: unknown;
}

// --- the database ---------------------------------------------------------------------------

let sqlite: SqliteDatabase | undefined;
let pool: pg.Pool | undefined;

interface Db {
  rows(sql: string, params: unknown[]): Promise<Row[]> | Row[];
  insertProject(values: unknown[], events: (projectId: number) => unknown[][]): Promise<number> | number;
}

const SELECT = 'select * from projects';
const INSERT_PROJECT = `insert into projects (service_name, status, assigned_ip, template_type, owner, infra, details, last_seq, created_at, updated_at, host_count, vcpu, memory_gb, disk_gb, attempt)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_EVENTS = 'insert into provision_events (project_id, seq, at, kind, status, message, data) values (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)';

function openDb(): Db {
  if (backend === 'sqlite') {
    const db = openSqlite(location);
    sqlite = db;
    const statements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
    const prepared = (sql: string) => {
      let s = statements.get(sql);
      if (!s) {
        s = db.prepare(sql);
        statements.set(sql, s);
      }
      return s;
    };
    const insertProject = prepared(INSERT_PROJECT);
    const insertEvents = prepared(INSERT_EVENTS);
    const tx = db.transaction((values: unknown[], events: (projectId: number) => unknown[][]) => {
      const id = Number(insertProject.run(...values).lastInsertRowid);
      insertEvents.run(...events(id).flat());
      return id;
    });
    return {
      rows: (sql, params) => prepared(sql).all(...params) as Row[],
      insertProject: (values, events) => tx(values, events) as number,
    };
  }
  const p = new pg.Pool({ connectionString: location, max: 10, application_name: 'hcmp-bench-raw' });
  pool = p;
  const insertProjectSql = `${pgPlaceholders(INSERT_PROJECT)} returning id`;
  const insertEventsSql = pgPlaceholders(INSERT_EVENTS);
  return {
    rows: async (sql, params) => (await p.query<Row>(pgPlaceholders(sql), params)).rows,
    insertProject: async (values, events) => {
      const client = await p.connect();
      try {
        await client.query('begin');
        const { rows } = await client.query<{ id: number }>(insertProjectSql, values);
        await client.query(insertEventsSql, events(rows[0].id).flat());
        await client.query('commit');
        return rows[0].id;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

const db = openDb();

// --- shapes (the same JSON as the product) ----------------------------------------------------

const dateOf = (v: number | Date) => (v instanceof Date ? v : new Date(Number(v)));
const detailsOf = (row: Row) => (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Details;
const legacyStatus = (s: string) => (s === 'CANCELLED' ? 'FAILED' : s === 'DELETING' ? 'RUNNING' : s);
const cursorOf = (id: number) => Buffer.from(`project:${id}`).toString('base64url');

function historyItem(row: Row) {
  return {
    id: row.id,
    service_name: row.service_name,
    status: legacyStatus(row.status),
    assigned_ip: row.assigned_ip ?? '',
    template_type: row.template_type,
    created_at: `${dateOf(row.created_at).toISOString().slice(0, 23)}000`,
    owner: row.owner,
    details: detailsOf(row),
  };
}

/** HistoryPage's node fields. */
function pageNode(row: Row, details: Details) {
  return {
    id: row.id,
    serviceName: row.service_name,
    status: row.status,
    assignedIp: row.assigned_ip ?? null,
    templateType: row.template_type,
    owner: row.owner,
    infra: row.infra,
    config: details.config,
    details,
    lastSeq: row.last_seq,
    createdAt: dateOf(row.created_at).toISOString(),
    updatedAt: dateOf(row.updated_at).toISOString(),
  };
}

/** HistoryProject's fields. */
function projectNode(row: Row) {
  const details = detailsOf(row);
  const r = details.resources;
  return {
    ...pageNode(row, details),
    logs: details.logs,
    errorMessage: details.error?.message ?? null,
    resources: r ? { albIp: r.alb_ip, webUrl: r.web_url, dbVip: r.db_vip, sshTargets: r.ssh_targets.map((t) => ({ host: t.host, port: t.port, user: t.user })) } : null,
  };
}

// --- the create path --------------------------------------------------------------------------

interface Order {
  serviceName: string;
  config: Record<string, unknown>;
  targetInfra: unknown;
}

/** The project row and its two first events (PENDING, the allocation log), as the product writes them. */
async function insertOrder(order: Order): Promise<number> {
  const now = new Date();
  const at = backend === 'sqlite' ? now.getTime() : now;
  const infraType = order.targetInfra === 'vsphere' || (order.targetInfra as { type?: string })?.type === 'vsphere' ? 'vsphere' : 'aws';
  const details = {
    input: { serviceName: order.serviceName, userName: owner, config: order.config, targetInfra: { type: infraType } },
    config: order.config,
    infra: { type: infraType },
    status: 'PENDING',
    logs: ['Allocating IP...'],
    resources: null,
    error: null,
  };
  const values = [order.serviceName, 'PENDING', null, String(order.config.template ?? 'aws-design'), owner, infraType, JSON.stringify(details), 2, at, at, 1, 1, 2, 20, 1];
  return db.insertProject(values, (id) => [
    [id, 1, at, 'status', 'PENDING', null, null],
    [id, 2, at, 'log', 'PENDING', 'Allocating IP...', null],
  ]);
}

// --- my resources, as an admin sees them (benchmark 7) ------------------------------------------

const HOST_LABEL = `case h.status when 'available' then 'Available' when 'provisioning' then 'Provisioning' when 'assigned' then 'Running' when 'drained' then 'Drained' else h.status end`;
const DERIVED_STATUS = `case when p.status = 'COMPLETED' then 'Running' else p.status end`;

/** Every row: hosts by id, then each project's derived rows, newest project first. */
async function myResources(): Promise<unknown[]> {
  const hosts = await db.rows(
    `select h.vm_name, h.ip_address, coalesce(p.service_name, '') as project_name, coalesce(h.owner, '') as owner, 0 as cpu_usage, 0 as memory_usage, 0 as disk_usage, ${HOST_LABEL} as status
       from workload_pool h left join projects p on p.id = h.project_id order by h.id`,
    [],
  );
  const derived = await db.rows(
    `select r.vm_name, r.address as ip_address, p.service_name as project_name, p.owner, 0 as cpu_usage, 0 as memory_usage, 0 as disk_usage, ${DERIVED_STATUS} as status
       from project_resources r join projects p on p.id = r.project_id order by r.project_id desc, r.ord`,
    [],
  );
  return [...hosts, ...derived];
}

const resourceCursor = (text: string) => Buffer.from(`resource:${text}`).toString('base64url');
const NO_METRICS = { cpuUsage: 0, memoryUsage: 0, diskUsage: 0, hasMetrics: false, networkIn: null, networkOut: null, load1: null, uptimeSeconds: null };

/** MonitoringResources: a keyset page of every row (hosts by id, then derived rows by project id and place) and the count. */
async function resourcesPage(first: number, after: string | null): Promise<unknown> {
  const cursor = after ? /^resource:(h):(\d+)$|^resource:(p):(\d+):(\d+)$/.exec(Buffer.from(after, 'base64url').toString()) : null;
  const inDerived = cursor?.[3] === 'p';
  const hosts = inDerived
    ? []
    : ((await db.rows(
        `select h.id, h.vm_name, h.ip_address, h.infra, ${HOST_LABEL} as status_label, h.project_id, h.owner, p.service_name
           from workload_pool h left join projects p on p.id = h.project_id where h.id > ? order by h.id limit ?`,
        [cursor ? Number(cursor[2]) : 0, first + 1],
      )) as unknown as Record<string, any>[]);
  const derived =
    hosts.length > first
      ? []
      : ((await db.rows(
          `select r.project_id, r.ord, r.kind, r.vm_name, r.address, p.infra, p.owner, p.service_name, ${DERIVED_STATUS} as status_label
             from project_resources r join projects p on p.id = r.project_id where (r.project_id, r.ord) > (?, ?) order by r.project_id, r.ord limit ?`,
          [inDerived ? Number(cursor![4]) : 0, inDerived ? Number(cursor![5]) : -1, first + 1 - hosts.length],
        )) as unknown as Record<string, any>[]);
  const [{ n: hostCount }] = (await db.rows('select count(*) as n from workload_pool h', [])) as unknown as { n: number }[];
  const [{ n: derivedCount }] = (await db.rows('select count(*) as n from project_resources r', [])) as unknown as { n: number }[];
  const rows = [
    ...hosts.map((h) => ({
      cursor: resourceCursor(`h:${h.id}`),
      node: { kind: 'host', hostId: Number(h.id), vmName: h.vm_name, ipAddress: h.ip_address, infra: h.infra, projectId: h.project_id == null ? null : Number(h.project_id), projectName: h.service_name ?? '', owner: h.owner ?? '', status: h.status_label, ...NO_METRICS },
    })),
    ...derived.map((r) => ({
      cursor: resourceCursor(`p:${r.project_id}:${r.ord}`),
      node: { kind: r.kind, hostId: null, vmName: r.vm_name, ipAddress: r.address, infra: r.infra, projectId: Number(r.project_id), projectName: r.service_name, owner: r.owner, status: r.status_label, ...NO_METRICS },
    })),
  ];
  const page = rows.slice(0, first);
  return {
    data: {
      resources: {
        totalCount: Number(hostCount) + Number(derivedCount),
        nodes: page.map((r) => r.node),
        pageInfo: { hasNextPage: rows.length > first, endCursor: page.length ? page[page.length - 1].cursor : null },
      },
    },
  };
}

// --- HTTP ---------------------------------------------------------------------------------------

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

async function graphqlOperation(body: { operationName?: string; variables?: Record<string, unknown> }): Promise<unknown> {
  const vars = body.variables ?? {};
  switch (body.operationName) {
    case 'HistoryProject': {
      const [row] = await db.rows(`${SELECT} where id = ?`, [Number(vars.id)]);
      if (!row || row.owner !== owner) return { errors: [{ message: 'Not Found', extensions: { code: 'NOT_FOUND' } }], data: null };
      return { data: { project: projectNode(row) } };
    }
    case 'HistoryPage': {
      const first = Number(vars.first ?? 20);
      const after = typeof vars.after === 'string' ? Number(/^project:(\d+)$/.exec(Buffer.from(vars.after, 'base64url').toString())?.[1]) : null;
      const rows = after
        ? await db.rows(`${SELECT} where owner = ? and id < ? order by id desc limit ?`, [owner, after, first + 1])
        : await db.rows(`${SELECT} where owner = ? order by id desc limit ?`, [owner, first + 1]);
      const items = rows.slice(0, first);
      return {
        data: {
          history: {
            nodes: items.map((row) => pageNode(row, detailsOf(row))),
            pageInfo: { endCursor: items.length ? cursorOf(items[items.length - 1].id) : null, hasNextPage: rows.length > first },
          },
        },
      };
    }
    case 'MonitoringResources':
      return resourcesPage(Number(vars.first ?? 50), typeof vars.after === 'string' ? vars.after : null);
    case 'Provision': {
      const input = vars.input as Order;
      const id = await insertOrder(input);
      return { data: { provision: { id, serviceName: input.serviceName, status: 'PENDING', lastSeq: 2 } } };
    }
    default:
      return { errors: [{ message: `unknown operation ${body.operationName}` }], data: null };
  }
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const path = url.split('?')[0];
  (async () => {
    if (req.method === 'GET' && path === '/api/history') {
      const limit = Number(new URLSearchParams(url.slice(path.length + 1)).get('limit') ?? 100);
      const rows = await db.rows(`${SELECT} where owner = ? order by id desc limit ?`, [owner, limit + 1]);
      return send(res, 200, rows.slice(0, limit).map(historyItem));
    }
    if (req.method === 'GET' && path === '/api/monitoring/my-resources') {
      return send(res, 200, await myResources());
    }
    if (req.method === 'POST' && path === '/api/provision') {
      const id = await insertOrder((await readBody(req)) as Order);
      return send(res, 200, { status: 'success', message: `프로젝트 #${id} 생성 시작`, project_id: id });
    }
    if (req.method === 'POST' && path === '/graphql') {
      return send(res, 200, await graphqlOperation((await readBody(req)) as { operationName?: string; variables?: Record<string, unknown> }));
    }
    return send(res, 404, { detail: 'Not Found' });
  })().catch((err: Error) => send(res, 500, { detail: err.message }));
});

const parent = serveParent(
  {
    usage: usageNow,
  },
  async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    sqlite?.close();
    await pool?.end();
  },
);

server.keepAliveTimeout = 72_000; // like Fastify's default
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  parent.ready({ url: `http://127.0.0.1:${port}`, pid: process.pid });
});
server.on('error', (err) => parent.fatal(err));
