/**
 * Early refusals a client can read. When a request is refused before its body was read (413:
 * Content-Length over BODY_LIMIT_BYTES), Fastify answers with `Connection: close`, and Node then
 * closes the socket with the rest of the body unread in the kernel's buffer: the kernel answers
 * that with a reset, and a client still sending its body (Node's fetch among them) saw EPIPE or
 * ECONNRESET instead of the 413 about six times in ten with an 8 MB body.
 *
 * Instead the connection stays open after the answer and the rest of the body is read and
 * dropped (Node does that for a request nobody read), up to {@link DRAIN_LIMIT_BYTES} or
 * {@link DRAIN_TIMEOUT_MS}; past either the socket is destroyed, so a client cannot make the
 * server read without end. Nothing of the body is kept.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The most of a refused body read and dropped before the connection is cut. */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
/** The longest a refused body may take to arrive before the connection is cut. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Called by the error handler before it answers: keep reading what the client still sends. */
export function drainAfterRefusal(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return;
  // Fastify asked for the connection to be closed because the body was not read; it will be, by
  // reading it (below), so the answer can reach the client first.
  if (String(reply.getHeader('connection') ?? '').toLowerCase() === 'close') reply.removeHeader('connection');
  const socket = raw.socket;
  const startedAt = socket.bytesRead;
  const check = setInterval(() => {
    if (raw.complete || socket.destroyed) {
      clearInterval(check);
      clearTimeout(deadline);
      return;
    }
    if (socket.bytesRead - startedAt > DRAIN_LIMIT_BYTES) cut();
  }, 100);
  const deadline = setTimeout(cut, DRAIN_TIMEOUT_MS);
  check.unref();
  deadline.unref();
  function cut(): void {
    clearInterval(check);
    clearTimeout(deadline);
    if (!raw.complete) socket.destroy();
  }
}
