/**
 * Registers hosts with Prometheus (PROMETHEUS_SD_FILE): a `file_sd` JSON file listing
 * `<address>:<NODE_EXPORTER_PORT>` for every host held by a project that is RUNNING or COMPLETED,
 * one group per host with the labels hcmp_project, hcmp_service, hcmp_owner and vm_name.
 *
 * - The file is always rebuilt from the database (never patched), written to a temporary file
 *   beside it and renamed over it, so Prometheus never reads half a file; it is only replaced when
 *   its content changes.
 * - It is rebuilt at start, when a project starts or stops counting (its run starts, completes,
 *   fails, is cancelled, torn down or removed; heard through the event bus, from every instance),
 *   and every minute.
 * - Several instances may write the same file. On PostgreSQL each rebuild reads and writes
 *   under one transaction-scoped advisory lock, so rebuilds happen one after another and the last
 *   one read the newest state: none can leave the file stale. (SQLite is one process: its rebuilds
 *   never overlap.)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import { sql, transaction } from '../db/sql.js';
import type { ProjectChangeRecord, ProjectEventBus } from './event-bus.js';

/** The advisory lock every instance takes to rebuild the file (an arbitrary constant). */
const LOCK_KEY = 7_201_516_001;
const COUNTED = new Set(['RUNNING', 'COMPLETED']);
const PERIODIC_MS = 60_000;
const DEBOUNCE_MS = 100;

export interface TargetGroup {
  targets: string[];
  labels: { hcmp_project: string; hcmp_service: string; hcmp_owner: string; vm_name: string };
}

export interface PrometheusTargetsOptions {
  path: string;
  /** The node exporter's port on every host. */
  port: number;
  /** Where the rebuild reads (plain SQL; a transaction of its own). */
  db: EntityManager;
  bus: ProjectEventBus;
  postgres: boolean;
  logger: { info(obj: object | string, msg?: string): void; warn(obj: object | string, msg?: string): void };
}

/** The file's content for these rows: groups in address order, pretty JSON, a newline at the end. */
export function targetFileContent(rows: { ip_address: string; vm_name: string; project_id: number; service_name: string; owner: string }[], port: number): string {
  const groups: TargetGroup[] = rows.map((r) => ({
    targets: [`${r.ip_address}:${port}`],
    labels: { hcmp_project: String(r.project_id), hcmp_service: r.service_name, hcmp_owner: r.owner, vm_name: r.vm_name },
  }));
  return `${JSON.stringify(groups, null, 2)}\n`;
}

export class PrometheusTargets {
  /** Projects counted in the file as this instance last heard (RUNNING or COMPLETED). */
  private readonly counted = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopListening: (() => void) | null = null;
  private closed = false;
  private failing = false;

  constructor(private readonly options: PrometheusTargetsOptions) {}

  /** Rebuilds the file now, then keeps it current. */
  async start(): Promise<void> {
    mkdirSync(dirname(this.options.path), { recursive: true });
    await this.rebuild();
    this.stopListening = this.options.bus.subscribeChanges({ all: true }, (change) => this.heard(change));
    this.timer = setInterval(() => this.schedule(), PERIODIC_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.running;
  }

  /** Resolves once the file reflects everything heard so far (tests). */
  async settled(): Promise<void> {
    while (this.debounce || this.running) {
      await (this.running ?? new Promise((r) => setTimeout(r, DEBOUNCE_MS)));
    }
  }

  private heard(change: ProjectChangeRecord): void {
    const counts = !change.deleted && COUNTED.has(change.status);
    if (counts === this.counted.has(change.id)) return;
    if (counts) this.counted.add(change.id);
    else this.counted.delete(change.id);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.rebuild();
    }, DEBOUNCE_MS);
  }

  /** One rebuild at a time; one more after it when something asked meanwhile. */
  private rebuild(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.write()
      .catch((err) => {
        if (!this.failing) this.options.logger.warn({ err: (err as Error).message, path: this.options.path }, 'could not rebuild the Prometheus target file; trying again');
        this.failing = true;
        setTimeout(() => this.schedule(), 5_000).unref();
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.closed) {
          this.again = false;
          void this.rebuild();
        }
      });
    return this.running;
  }

  private async write(): Promise<void> {
    const { path, port, postgres } = this.options;
    await transaction(this.options.db, async (tx) => {
      if (postgres) await sql(tx, 'select pg_advisory_xact_lock(?)', [LOCK_KEY]);
      const rows: { ip_address: string; vm_name: string; project_id: number; service_name: string; owner: string }[] = await sql(
        tx,
        `select h.ip_address, h.vm_name, p.id as project_id, p.service_name, p.owner from workload_pool h join projects p on p.id = h.project_id
          where p.status in ('RUNNING', 'COMPLETED') order by h.ip_address`,
      );
      this.counted.clear();
      for (const r of rows) this.counted.add(Number(r.project_id));
      const content = targetFileContent(rows, port);
      let current: string | null = null;
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // not there yet
      }
      if (current === content) return;
      // Beside it, so the rename is atomic (one file system); Prometheus sees the old or the new file.
      const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        writeFileSync(temporary, content, { mode: 0o644 });
        renameSync(temporary, path);
      } finally {
        rmSync(temporary, { force: true });
      }
    });
    if (this.failing) this.options.logger.info({ path }, 'Prometheus target file rebuilt again');
    this.failing = false;
  }
}
