/**
 * The calling side of callProtocol.ts: a worker thread started, waited for until ready (or its
 * refusal, rethrown here with its code), then sent calls that each settle with their own answer.
 * A worker that dies fails the calls waiting on it and every later one, and is reported to
 * `onDeath`; close() lets calls under way finish before the worker releases what it holds (a
 * session or an index must not go away mid-run).
 */
import type { Worker } from 'node:worker_threads';
import { TwoTowerError } from '../errors.js';
import type { FromCallWorker, ToCallWorker } from './callProtocol.js';
import { startWorker, whenReady } from './startWorker.js';
import { receivedError } from './workerErrors.js';

/** How long close() waits for calls under way and the worker's exit before terminating it. */
const CLOSE_TIMEOUT_MS = 5000;

interface Pending<R> {
  resolve: (value: R) => void;
  reject: (err: Error) => void;
  settled: Promise<unknown>;
}

export class WorkerClient<C, R, Ready> {
  readonly #pending = new Map<number, Pending<R>>();
  #nextId = 0;
  /** Why calls are refused: the worker stopped, or close() was called. */
  #dead: TwoTowerError | null = null;
  #closing: Promise<void> | null = null;
  #exited = false;

  private constructor(
    private readonly worker: Worker,
    /** Names the worker and what it holds in errors ("model worker of model m-…"). */
    private readonly what: string,
    readonly info: Ready,
    private readonly onDeath: (err: Error) => void,
  ) {
    worker.on('message', (m: FromCallWorker<R, Ready>) => this.#onMessage(m));
    worker.on('error', (err) => this.#die(new TwoTowerError('INTERNAL', `${what} failed: ${err.message}`)));
    worker.on('exit', (code) => {
      this.#exited = true;
      this.#die(new TwoTowerError('INTERNAL', `${what} exited (code ${code})`));
    });
  }

  /**
   * Starts the worker module at `moduleUrl` with `data`. `what` names it while loading; `named`
   * names it afterwards, from what it said when ready. `onDeath` hears once of a worker that
   * stopped other than by close().
   */
  static async start<C, R, Ready>(
    moduleUrl: URL,
    data: unknown,
    what: string,
    named: (info: Ready) => string,
    onDeath: (err: Error) => void = () => {},
  ): Promise<WorkerClient<C, R, Ready>> {
    const worker = startWorker(moduleUrl, data);
    const ready = await whenReady<FromCallWorker<R, Ready>>(worker, what, (m) =>
      m.type === 'failed' ? receivedError(m, what) : new TwoTowerError('INTERNAL', `${what}: unexpected '${m.type}' while loading`),
    );
    return new WorkerClient<C, R, Ready>(worker, named(ready.info), ready.info, onDeath);
  }

  /** `transfer`: buffers of the call to move to the worker rather than copy (the caller gives them up). */
  call(call: C, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    let resolve!: (value: R) => void;
    let reject!: (err: Error) => void;
    const answer = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#pending.set(id, { resolve, reject, settled: answer.catch(() => undefined) });
    this.worker.postMessage({ type: 'call', id, call } satisfies ToCallWorker<C>, transfer);
    return answer;
  }

  /**
   * Refuses new calls (`closed` says why), lets those under way finish, then ends the worker. A
   * worker stuck in a call is terminated after CLOSE_TIMEOUT_MS rather than waited for.
   */
  close(closed: string): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#dead) return;
      this.#dead = new TwoTowerError('INTERNAL', closed);
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
      await Promise.allSettled([...this.#pending.values()].map((p) => p.settled));
      if (!this.#exited) this.worker.postMessage({ type: 'close' } satisfies ToCallWorker<C>);
      await exited;
      clearTimeout(timer);
      // A terminated worker leaves its calls unanswered: they fail with why.
      this.#rejectAll(this.#dead);
    })();
    return this.#closing;
  }

  /** Ends the thread at once, as a crash would (tests). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  #onMessage(m: FromCallWorker<R, Ready>): void {
    if (m.type === 'ready' || m.id === null) return;
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.value);
    else p.reject(receivedError(m, this.what));
  }

  /** The thread is gone: nothing pending will be answered. */
  #die(err: TwoTowerError): void {
    const unexpected = this.#dead === null;
    this.#dead ??= err;
    this.#rejectAll(err);
    if (unexpected) this.onDeath(err);
  }

  #rejectAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
