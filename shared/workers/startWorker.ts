/**
 * Starts a worker thread from a TypeScript module of this project.
 *
 * Compiled (dist/, what the CLI runs) the module's .js sibling is the worker script. Run from the
 * TypeScript sources (vitest, vite-node) there is no .js file, so the module is bundled once with
 * esbuild (present wherever the test runner is; never needed in production) into a cached .mjs
 * whose node_modules imports stay external.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TwoTowerError } from '../errors.js';

/** `moduleUrl`: the worker module as `new URL('./name.js', import.meta.url)` from a neighbour. */
export function startWorker(moduleUrl: URL, workerData: unknown): Worker {
  return new Worker(runnableScript(moduleUrl), { workerData });
}

/**
 * Waits for a worker's first message: `{type: 'ready'}` resolves (with that message); any other message rejects
 * with `refusal(message)`, as do an error or an exit (named after `what`), and the worker is then
 * terminated. Only the listeners added here are removed afterwards: Worker keeps listeners of
 * its own, and removing every listener stops it delivering messages.
 */
export async function whenReady<M extends { type: string }>(worker: Worker, what: string, refusal: (m: M) => Error): Promise<Extract<M, { type: 'ready' }>> {
  let onMessage = (_m: M): void => {};
  let onError = (_e: Error): void => {};
  let onExit = (_code: number): void => {};
  try {
    return await new Promise<Extract<M, { type: 'ready' }>>((resolve, reject) => {
      onMessage = (m) => (m.type === 'ready' ? resolve(m as Extract<M, { type: 'ready' }>) : reject(refusal(m)));
      onError = reject;
      onExit = (code) => reject(new TwoTowerError('INTERNAL', `${what} exited (code ${code}) while loading`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  } finally {
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
  }
}

const bundled = new Map<string, string>();

/**
 * The script to run for the module at `moduleUrl` (a `.js` URL): its compiled file, or from the
 * TypeScript sources a cached bundle. Also what a child process of such a module is forked from.
 */
export function runnableScript(moduleUrl: URL): string {
  const js = fileURLToPath(moduleUrl);
  if (existsSync(js)) return js;
  const ts = js.replace(/\.js$/, '.ts');
  if (!existsSync(ts)) throw new Error(`worker module ${js} not found (nor ${ts})`);
  let out = bundled.get(ts);
  if (out === undefined) {
    out = bundleFromSources(ts);
    bundled.set(ts, out);
  }
  return out;
}

/** The part of esbuild's API used here, typed locally: the package is not a declared dependency. */
interface Esbuild {
  buildSync(opts: Record<string, unknown>): { outputFiles?: { text: string }[] };
}

function bundleFromSources(ts: string): string {
  const root = projectRoot(path.dirname(ts));
  // esbuild is CommonJS; require keeps this synchronous, as Worker construction is.
  const esbuild = createRequire(path.join(root, 'package.json'))('esbuild') as Esbuild;
  const res = esbuild.buildSync({ entryPoints: [ts], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false });
  const text = res.outputFiles?.[0]?.text;
  if (text === undefined) throw new Error(`esbuild produced nothing for ${ts}`);
  const dir = path.join(root, 'node_modules', '.cache', 'twotower-workers');
  const out = path.join(dir, `${path.basename(ts, '.ts')}.${createHash('sha1').update(text).digest('hex').slice(0, 12)}.mjs`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    // Written under a private name and renamed, so parallel test files never run a half-written file.
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, out);
  }
  return out;
}

function projectRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${dir}`);
  }
}
