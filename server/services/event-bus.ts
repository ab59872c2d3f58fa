/**
 * In-process publish/subscribe with one topic per project, so publishing costs the same
 * however many other projects are being watched, and one topic per owner (plus one "all"
 * topic for admins) for list views. Transport-agnostic: GraphQL subscriptions and (later)
 * other adapters listen here.
 */
import type { EventKind, InfraType, ProjectStatus } from '../entities/index.js';

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

/** What a list of projects shows of one project, sent after each committed change. */
export interface ProjectChangeRecord {
  id: number;
  serviceName: string;
  status: ProjectStatus;
  assignedIp: string | null;
  owner: string;
  infra: InfraType;
  lastSeq: number;
  updatedAt: Date;
  /** The project was removed; the other fields are its last state. */
  deleted: boolean;
}

/** Whose changes a listener gets: one owner's, or everyone's (admins). */
export type ChangeScope = { owner: string } | { all: true };

export type ProjectChangeListener = (change: ProjectChangeRecord) => void;

export type ProjectEventListener = (event: ProjectEventRecord) => void;
/** Called when the project is gone (deleted): listeners should end their streams. */
export type ProjectClosedListener = () => void;

interface Subscriber {
  onEvent: ProjectEventListener;
  onClosed: ProjectClosedListener;
}

export class ProjectEventBus {
  private readonly topics = new Map<number, Set<Subscriber>>();
  /** `owner:<name>` per account, and `all`. */
  private readonly changeTopics = new Map<string, Set<ProjectChangeListener>>();
  private publishedEvents = 0;

  publish(event: ProjectEventRecord): void {
    this.publishedEvents++;
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

  /** Events delivered to this bus since it was made (watched or not): a counter for metrics. */
  get published(): number {
    return this.publishedEvents;
  }

  /** Projects that have at least one subscriber. */
  watchedProjects(): number[] {
    return [...this.topics.keys()];
  }

  subscriberCount(projectId?: number): number {
    if (projectId !== undefined) return this.topics.get(projectId)?.size ?? 0;
    let total = 0;
    for (const set of this.topics.values()) total += set.size;
    return total;
  }

  /** Delivers a change to its owner's topic and to the admins' topic, nowhere else. */
  publishChange(change: ProjectChangeRecord): void {
    for (const key of [ownerTopic(change.owner), ALL_TOPIC]) {
      const listeners = this.changeTopics.get(key);
      if (listeners) for (const listener of [...listeners]) listener(change);
    }
  }

  subscribeChanges(scope: ChangeScope, listener: ProjectChangeListener): () => void {
    const key = 'all' in scope ? ALL_TOPIC : ownerTopic(scope.owner);
    let listeners = this.changeTopics.get(key);
    if (!listeners) {
      listeners = new Set();
      this.changeTopics.set(key, listeners);
    }
    listeners.add(listener);
    return () => {
      const set = this.changeTopics.get(key);
      if (!set) return;
      set.delete(listener);
      if (set.size === 0) this.changeTopics.delete(key);
    };
  }

  changeListenerCount(): number {
    let total = 0;
    for (const set of this.changeTopics.values()) total += set.size;
    return total;
  }
}

const ALL_TOPIC = 'all';
const ownerTopic = (owner: string) => `owner:${owner}`;
