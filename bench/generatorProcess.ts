/**
 * The open-loop generator in a process of its own, apart from the benchmark that drives it.
 *
 * Why: the benchmark's process holds the version's 200k user and item ids, autocannon and its
 * results, so each mark-compact there took 5-18 ms; run in that process, the generator sent
 * nothing during one, then sent what had come due as one burst, which the server (64 requests in
 * flight at most) partly shed. Here the requests are made in the benchmark's process (they need
 * the ids) and travel as one buffer; the generator's heap stays a few megabytes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { runnableScript } from '../shared/workers/startWorker.js';
import type { GeneratorReply, GeneratorRun } from './generatorChild.js';
import { buildRequestPool, type OpenLoopOptions, type OpenLoopResult } from './openLoop.js';

export interface GeneratorProcess {
  /** As runOpenLoop(opts), run in the generator's process. One run at a time. */
  run(opts: OpenLoopOptions): Promise<OpenLoopResult>;
  stop(): Promise<void>;
}

const CHILD = new URL('./generatorChild.js', import.meta.url);

export function startGeneratorProcess(): GeneratorProcess {
  // 'advanced' serialization: the request pool and the latencies cross as typed arrays, not JSON.
  const child: ChildProcess = fork(runnableScript(CHILD), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exited: Error | null = null;
  child.once('exit', (code, signal) => {
    exited = new Error(`load generator process exited (${signal ?? code})`);
  });
  return {
    run(opts) {
      if (exited) return Promise.reject(exited);
      const { body, bodyPool, ...rest } = opts;
      const message: GeneratorRun = { ...rest, requests: buildRequestPool({ url: opts.url, body, bodyPool }) };
      return new Promise<OpenLoopResult>((resolve, reject) => {
        const onExit = () => reject(exited ?? new Error('load generator process exited'));
        child.once('exit', onExit);
        child.once('message', (reply: GeneratorReply) => {
          child.off('exit', onExit);
          if (reply.ok) resolve(reply.result);
          else reject(new Error(`load generator: ${reply.message}`));
        });
        child.send(message);
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}
