/**
 * A refusal lists at most 50 issues (server/services/errors.ts): the first 50 as they were found,
 * then one `too_many_errors` entry with the number left out — for every transport at once, since
 * REST's `detail`, GraphQL's `extensions.issues` and the message all come from the same error.
 */
import { describe, expect, it } from 'vitest';
import { invalidInput, listedIssues, MAX_LISTED_ISSUES, type ValidationIssue } from '../../server/services/errors.js';

const issues = (n: number): ValidationIssue[] => Array.from({ length: n }, (_, i) => ({ loc: ['body', 'config', 'packages', i + 1], msg: `Package 'nginx' is listed twice`, type: 'value_error' }));

describe('validation issues of one refusal', () => {
  it('lists up to 50 issues unchanged', () => {
    expect(MAX_LISTED_ISSUES).toBe(50);
    for (const n of [0, 1, 50]) expect(listedIssues(issues(n))).toEqual(issues(n));
  });

  it('lists the first 50 of more, then says how many more there were', () => {
    expect(listedIssues(issues(51)).slice(50)).toEqual([{ loc: ['body'], msg: '… and 1 more problem', type: 'too_many_errors', ctx: { more: 1 } }]);
    const listed = listedIssues(issues(4999));
    expect(listed).toHaveLength(51);
    expect(listed.slice(0, 50)).toEqual(issues(50));
    expect(listed[50]).toEqual({ loc: ['body'], msg: '… and 4949 more problems', type: 'too_many_errors', ctx: { more: 4949 } });
  });

  it('builds the refusal and its message from the listed issues only', () => {
    const err = invalidInput(issues(4999));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.issues).toHaveLength(51);
    expect(err.message.split('; ')).toHaveLength(51);
    expect(err.message).toMatch(/^config\.packages\.1: Package 'nginx' is listed twice; .*; body: … and 4949 more problems$/);
    expect(err.message.length).toBeLessThan(5_000);
  });
});
