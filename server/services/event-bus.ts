/**
 * In-process publish/subscribe with one topic per project, so publishing costs the same
 * however many other projects are being watched. Transport-agnostic: GraphQL subscriptions
 * and (later) other adapters listen here.
 */
import type { EventKind, ProjectStatus } from '../entities/index.js';

/** A stored project event as plain data. */
export interface ProjectEventRecord {
  projectId: number;
  seq: number;
  at: Date;
  kind: EventKind;
  status: ProjectStatus;
  message: string | null;
  data: Record<string, unknown> | null;
}

export type ProjectEventListener = (event: ProjectEventRecord) => void;
/** Called when the project is gone (deleted): listeners should end their streams. */
export type ProjectClosedListener = () => void;

interface Subscriber {
  onEvent: ProjectEventListener;
  onClosed: ProjectClosedListener;
}

export class ProjectEventBus {
  private readonly topics = new Map<number, Set<Subscriber>>();

  publish(event: ProjectEventRecord): void {
    const subscribers = this.topics.get(event.projectId);
    if (!subscribers) return;
    for (const s of [...subscribers]) s.onEvent(event);
  }

  /** Ends every stream of a project that no longer exists. */
  close(projectId: number): void {
    const subscribers = this.topics.get(projectId);
    if (!subscribers) return;
    this.topics.delete(projectId);
    for (const s of subscribers) s.onClosed();
  }

  subscribe(projectId: number, onEvent: ProjectEventListener, onClosed: ProjectClosedListener): () => void {
    let subscribers = this.topics.get(projectId);
    if (!subscribers) {
      subscribers = new Set();
      this.topics.set(projectId, subscribers);
    }
    const subscriber: Subscriber = { onEvent, onClosed };
    subscribers.add(subscriber);
    return () => {
      const set = this.topics.get(projectId);
      if (!set) return;
      set.delete(subscriber);
      if (set.size === 0) this.topics.delete(projectId);
    };
  }

  subscriberCount(projectId?: number): number {
    if (projectId !== undefined) return this.topics.get(projectId)?.size ?? 0;
    let total = 0;
    for (const set of this.topics.values()) total += set.size;
    return total;
  }
}
