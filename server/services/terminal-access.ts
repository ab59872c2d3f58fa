/**
 * Who may open a terminal to which host: the owner of a COMPLETED project, to one of the hosts
 * that project holds; an admin to any project's hosts (audited as an admin's session). Each
 * refusal carries the close code the terminal's WebSocket ends with (the protocol is in
 * websocket/terminal.ts and SECURITY.md).
 */
import { sql, type SqlTarget } from '../db/sql.js';
import { readProject } from './project-rows.js';
import { isAdmin, type Principal } from './principal.js';

/** How a terminal session ends, as WebSocket close codes (the console explains each). */
export const TERMINAL_CLOSE = {
  /** The shell exited (its `exit` message came first). */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** Something unexpected on the server. */
  internal: 1011,
  /** The database did not answer: try again in a moment. */
  tryAgain: 1013,
  /** A frame the protocol does not allow (the first one not an `auth`, a bad control message). */
  protocol: 4400,
  /** No token, a bad or expired one, logged out, or the account is no longer active. */
  unauthenticated: 4401,
  /** Another user's project (admins excepted). */
  forbidden: 4403,
  /** No such project, or the host is not one of its hosts. */
  notFound: 4404,
  /** No input for TERMINAL_IDLE_MINUTES. */
  idle: 4408,
  /** The project is not COMPLETED (still running, failed, being deleted). */
  notCompleted: 4409,
  /** The session reached TERMINAL_MAX_SESSION_MINUTES. */
  maxLength: 4410,
  /** TERMINAL_MAX_SESSIONS of the account are open already. */
  tooMany: 4429,
  /** The host showed a key other than the one recorded for it. */
  hostKeyChanged: 4495,
  /** The host could not be reached, refused the login, or the connection to it was lost. */
  sshFailed: 4502,
  /** No SSH account and key are configured (admin settings or SSH_USER / SSH_PRIVATE_KEY_FILE). */
  sshNotConfigured: 4503,
} as const;

export type TerminalCloseCode = (typeof TERMINAL_CLOSE)[keyof typeof TERMINAL_CLOSE];

/** A session refused or ended, with its close code and a short reason (≤ 123 bytes on the wire). */
export class TerminalRefusal extends Error {
  constructor(
    readonly code: TerminalCloseCode,
    reason: string,
  ) {
    super(reason);
    this.name = 'TerminalRefusal';
  }
}

export interface TerminalTarget {
  projectId: number;
  serviceName: string;
  projectOwner: string;
  hostId: number;
  address: string;
  vmName: string;
  /** An admin's session to another user's project. */
  asAdmin: boolean;
}

/**
 * The host the caller may open a terminal to, or a {@link TerminalRefusal}: 4404 no such project,
 * 4403 another user's (not for admins), 4409 not COMPLETED, 4404 not one of its hosts.
 */
export async function terminalTarget(db: SqlTarget, caller: Principal, projectId: number, address: string): Promise<TerminalTarget> {
  const project = Number.isSafeInteger(projectId) && projectId > 0 ? await readProject(db, projectId) : null;
  if (!project) throw new TerminalRefusal(TERMINAL_CLOSE.notFound, 'No such project');
  const admin = isAdmin(caller);
  if (!admin && project.owner !== caller.username) throw new TerminalRefusal(TERMINAL_CLOSE.forbidden, 'Not your project');
  if (project.status !== 'COMPLETED') throw new TerminalRefusal(TERMINAL_CLOSE.notCompleted, `The project is ${project.status}, not COMPLETED`);
  const [host]: { id: number; vm_name: string; ip_address: string }[] =
    typeof address === 'string' && /^[0-9A-Za-z.:_-]{1,64}$/.test(address)
      ? await sql(db, 'select id, vm_name, ip_address from workload_pool where project_id = ? and ip_address = ?', [project.id, address], 'all')
      : [];
  if (!host) throw new TerminalRefusal(TERMINAL_CLOSE.notFound, 'The host is not one of the project’s hosts');
  return {
    projectId: project.id,
    serviceName: project.serviceName,
    projectOwner: project.owner,
    hostId: host.id,
    address: host.ip_address,
    vmName: host.vm_name,
    asAdmin: admin && project.owner !== caller.username,
  };
}
