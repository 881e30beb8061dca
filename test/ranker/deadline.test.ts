import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { LATE, remainingMs, withDeadline } from '../../ranker/pipeline/deadline.js';

describe('withDeadline', () => {
  it('passes the value through without a deadline', async () => {
    expect(remainingMs(undefined)).toBe(Infinity);
    await expect(withDeadline(Promise.resolve(3), undefined)).resolves.toBe(3);
  });

  it('passes the value through when work finishes first', async () => {
    await expect(withDeadline(Promise.resolve('ok'), performance.now() + 10_000)).resolves.toBe('ok');
  });

  it('is LATE at once when the deadline has passed', async () => {
    await expect(withDeadline(new Promise(() => {}), performance.now() - 1)).resolves.toBe(LATE);
  });

  it('is LATE when work outlives the deadline', async () => {
    const slow = new Promise((r) => setTimeout(() => r('late'), 200));
    await expect(withDeadline(slow, performance.now() + 5)).resolves.toBe(LATE);
  });

  it('leaves no unhandled rejection when abandoned work fails later', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing = new Promise((_, reject) => setTimeout(() => reject(new Error('late failure')), 20));
      await expect(withDeadline(failing, performance.now() + 1)).resolves.toBe(LATE);
      await new Promise((r) => setTimeout(r, 60));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('passes a rejection through when it comes in time', async () => {
    await expect(withDeadline(Promise.reject(new Error('no')), performance.now() + 1000)).rejects.toThrow('no');
  });
});
