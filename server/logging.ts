/**
 * How the server logs. In development, lines a person reads: pino's own pretty printer
 * (pino-pretty, a development dependency) in a worker thread. Everywhere else — production,
 * tests, and a development start where pino-pretty is not installed (an install without dev
 * dependencies) — pino's JSON lines, one object per line, for log collectors and for the tests
 * that read them.
 */
import { createRequire } from 'node:module';
import type { Config } from './config/index.js';

/** Fastify's `logger` option: pino's level, and in development the pretty printer as transport. */
export interface LoggerOptions {
  level: string;
  transport?: { target: string; options: Record<string, unknown> };
}

/** Where pino-pretty is installed, or undefined when it is not (a production install). */
export function resolvePrettyPrinter(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
}

/**
 * The logger for this configuration. `prettyPrinter` finds pino-pretty (tests pass their own);
 * it is asked only in development, and its path becomes the transport's target, so the worker
 * loads the very module that was found.
 */
export function loggerOptions(config: Pick<Config, 'nodeEnv' | 'logLevel'>, prettyPrinter: () => string | undefined = resolvePrettyPrinter): LoggerOptions {
  const json: LoggerOptions = { level: config.logLevel };
  if (config.nodeEnv !== 'development') return json;
  const target = prettyPrinter();
  if (!target) return json;
  return {
    ...json,
    transport: {
      target,
      // Local time to the millisecond; pid and hostname say nothing on a developer's machine.
      options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  };
}
