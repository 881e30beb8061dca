/**
 * What the reliability tests share: the size knob (small under `npm test`, large under
 * `npm run test:soak`), report lines, the load generator child, memory sampling and a scanner for
 * internals leaking into error bodies.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LoadOptions, LoadResult } from './loadGen.js';

/** SOAK=1 (npm run test:soak) scales every count and duration up. */
export const SOAK = process.env.SOAK === '1' || process.env.SOAK === 'true';

/** small under npm test, soak under npm run test:soak. */
export function size<T>(small: T, soak: T): T {
  return SOAK ? soak : small;
}

/** Per-test timeout: generous, since the machine is shared and noisy. */
export function timeout(smallS: number, soakS: number): number {
  return size(smallS, soakS) * 1000;
}

export const ROOT = path.resolve(__dirname, '../..');
const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');

/**
 * A report line for the closing note: printed, and appended to $RELIABILITY_REPORT when set
 * (npm run test:soak keeps its figures there).
 */
export function report(area: string, line: string): void {
  const text = `[reliability${SOAK ? ' soak' : ''}] ${area}: ${line}`;
  console.log(text);
  if (process.env.RELIABILITY_REPORT) appendFileSync(process.env.RELIABILITY_REPORT, text + '\n');
}

export interface LoadChild {
  run(opts: LoadOptions): Promise<LoadResult>;
  /** Ends the run under way early (its promise then resolves with what was done). */
  stop(): void;
  close(): Promise<void>;
}

/** The load generator in its own process (its own core on a 2-core box, not the server's loop). */
export async function startLoadChild(): Promise<LoadChild> {
  const child: ChildProcess = fork(VITE_NODE, [path.join(ROOT, 'test', 'reliability', 'loadChild.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
  });
  return {
    run(opts) {
      return new Promise<LoadResult>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`load generator exited (${code}) during a run`));
        child.once('exit', onExit);
        child.once('message', (m: { result?: LoadResult; error?: string }) => {
          child.off('exit', onExit);
          if (m.result) resolve(m.result);
          else reject(new Error(`load generator failed: ${m.error}`));
        });
        child.send({ cmd: 'run', opts });
      });
    },
    stop() {
      child.send({ cmd: 'stop' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ cmd: 'exit' });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Resident memory of this process, sampled on a timer; peak and samples in MB. */
export function sampleRss(everyMs = 100) {
  const samples: number[] = [];
  const take = () => samples.push(process.memoryUsage.rss() / 2 ** 20);
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return { peakMb: Math.max(...samples), samples };
    },
  };
}

let gcFn: (() => void) | null = null;
/** A full garbage collection, so that heap figures compare live data, not GC timing. */
export function fullGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

export function heapMb(): number {
  fullGc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What an error body must never carry: stack frames ('at ' as a word: "candidat is" is not one),
 * source locations, host paths.
 */
export const LEAK_MARKERS: (string | RegExp)[] = ['/work', '/tmp', /\bat /, '.ts:', '.js:', 'node_modules', process.cwd()];

function found(text: string, marker: string | RegExp): boolean {
  return typeof marker === 'string' ? text.includes(marker) : marker.test(text);
}

/**
 * The markers found in `body` that the request did not itself carry (an id the client sent may
 * come back in "item 'x' is not in index version v…", and that is not a leak).
 */
export function leaks(body: string, request: string): string[] {
  return LEAK_MARKERS.filter((m) => found(body, m) && !found(request, m)).map(String);
}

/** Nearest-rank percentile q (0..100) of a sorted array; NaN when empty. */
export { percentile } from './loadGen.js';

export function fmt(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : 'n/a';
}

/**
 * `n` realistic /v1/rank bodies for the load tests: nine in ten for known users (precomputed
 * lists), one in ten for unknown ones (live user tower + HNSW), each with a 5-item session, k=20.
 */
export function rankBodies(world: { items: readonly { itemId: string }[]; interactions: readonly { userId: string }[] }, n = 3000): string[] {
  const items = world.items.map((i) => i.itemId);
  const users = [...new Set(world.interactions.map((r) => r.userId))];
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      userId: i % 10 === 9 ? `cold-${i}` : users[(i * 7) % users.length],
      k: 20,
      session: { items: [0, 1, 2, 3, 4].map((j) => items[(i * 13 + j * 131) % items.length]) },
    }),
  );
}
