/**
 * The server's logger by configuration (server/logging.ts): pino-pretty in development when it
 * is installed, JSON lines otherwise — production, tests, and a development start without dev
 * dependencies.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { loggerOptions, resolvePrettyPrinter } from '../../server/logging.js';

const PRETTY = '/opt/app/node_modules/pino-pretty/index.js';
const installed = () => PRETTY;
const missing = () => undefined;

describe('server logger', () => {
  it('pretty-prints in development through the pino-pretty that was found', () => {
    const options = loggerOptions({ nodeEnv: 'development', logLevel: 'debug' }, installed);
    expect(options.level).toBe('debug');
    expect(options.transport?.target).toBe(PRETTY);
    expect(options.transport?.options).toMatchObject({ translateTime: expect.any(String), ignore: 'pid,hostname' });
  });

  it('writes JSON lines in development when pino-pretty is not installed', () => {
    expect(loggerOptions({ nodeEnv: 'development', logLevel: 'info' }, missing)).toEqual({ level: 'info' });
  });

  it('writes JSON lines in production and in tests without looking for pino-pretty', () => {
    for (const nodeEnv of ['production', 'test'] as const) {
      const prettyPrinter = vi.fn(installed);
      expect(loggerOptions({ nodeEnv, logLevel: 'warn' }, prettyPrinter)).toEqual({ level: 'warn' });
      expect(prettyPrinter).not.toHaveBeenCalled();
    }
  });

  it('finds the pino-pretty installed as a development dependency', () => {
    const path = resolvePrettyPrinter();
    expect(path).toMatch(/node_modules[\\/]pino-pretty[\\/]/);
    expect(existsSync(path!)).toBe(true);
  });
});
