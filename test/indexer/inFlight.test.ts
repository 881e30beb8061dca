/** InFlight: how many tower runs the embedding stages keep going, and how a failure surfaces. */
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../indexer/inFlight.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

describe('InFlight', () => {
  it('add() returns at once below the depth and waits for the oldest run at it', async () => {
    const f = new InFlight(3);
    const runs = [deferred(), deferred(), deferred()];
    await f.add(runs[0].promise);
    await f.add(runs[1].promise);
    let third = false;
    const adding = f.add(runs[2].promise).then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    runs[0].resolve();
    await adding;
    expect(third).toBe(true);
    runs[1].resolve();
    runs[2].resolve();
    await f.drain();
  });

  it('depth 1 waits for every run before the next is added', async () => {
    const f = new InFlight(1);
    const order: string[] = [];
    await f.add(new Promise<void>((r) => setTimeout(() => (order.push('run 1'), r()), 5)));
    order.push('added 2');
    await f.add(Promise.resolve().then(() => void order.push('run 2')));
    expect(order).toEqual(['run 1', 'added 2', 'run 2']);
  });

  it('a later run failing first is thrown by drain() in turn, never as an unhandled rejection', async () => {
    const f = new InFlight(3);
    const first = deferred();
    const second = deferred();
    await f.add(first.promise);
    await f.add(second.promise);
    second.reject(new Error('tower failed'));
    await new Promise((r) => setImmediate(r));
    first.resolve();
    await expect(f.drain()).rejects.toThrow('tower failed');
  });

  it('settle() waits for every run, failed or not, and empties the queue', async () => {
    const f = new InFlight(4);
    const a = deferred();
    const b = deferred();
    await f.add(a.promise);
    await f.add(b.promise);
    let settled = false;
    const s = f.settle().then(() => (settled = true));
    a.reject(new Error('x'));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    b.resolve();
    await s;
    await f.drain(); // nothing left
  });
});
