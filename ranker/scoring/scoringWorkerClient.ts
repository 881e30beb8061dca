/**
 * The main thread's side of the scoring worker: one worker per served version, attached to the
 * version (it closes with it). Requests go to the worker in batches, one batch at a time: while
 * the worker scores one, the requests arriving meanwhile queue here and leave together when it
 * answers. Idle, a request leaves at the end of its event-loop turn (with the others of that
 * turn); under load batches grow by themselves, so the message cost (a postMessage and the
 * worker's wake-up cost the main thread about 15 us) and the ranker run's fixed cost are shared.
 */
import { performance } from 'node:perf_hooks';
import type { LoadedVersion } from '../../shared/store/types.js';
import { TwoTowerError } from '../../shared/errors.js';
import { startWorker, whenReady } from '../../shared/workers/startWorker.js';
import { servingContext } from '../pipeline/servingContext.js';
import { packJobs, unpackResults, type FromWorker, type ScoredJob, type ScoreJob, type ScoringWorkerData } from './protocol.js';
import type { Worker } from 'node:worker_threads';

const SCORING_WORKER = new URL('./scoringWorker.js', import.meta.url);

/** Jobs per message at most: past a few dozen requests a bigger batch saves nothing more. */
const MAX_JOBS = 64;

interface Waiting {
  job: ScoreJob;
  resolve: (r: ScoredJob) => void;
  reject: (e: Error) => void;
}

/** Hears of every answered batch: its size and its round trip in seconds (metrics). */
export type BatchObserver = (requests: number, seconds: number) => void;

export class ScoringWorker {
  #queue: Waiting[] = [];
  readonly #inFlight = new Map<number, { batch: Waiting[]; sentAt: number }>();
  #nextId = 0;
  /** A batch is with the worker; the queue waits for its answer. */
  #busy = false;
  #dead: Error | null = null;
  readonly #flush = () => this.#send();

  private constructor(
    private readonly worker: Worker,
    private readonly onDeath: (err: Error) => void,
    private readonly onBatch: BatchObserver,
  ) {
    worker.on('message', (m: FromWorker) => this.#onMessage(m));
    worker.on('error', (err) => this.#die(err));
    worker.on('exit', (code) => this.#die(new TwoTowerError('INTERNAL', `scoring worker exited (code ${code})`)));
  }

  /** `onDeath` hears of a worker that stopped other than by close() (the version then scores in-thread). */
  static async start(version: LoadedVersion, onDeath: (err: Error) => void = () => {}, onBatch: BatchObserver = () => {}): Promise<ScoringWorker> {
    const ctx = servingContext(version);
    const { model } = version;
    // Shared memory is read in place; anything else would be copied into the worker (a version
    // not loaded by loadVersion, such as a test's).
    const data: ScoringWorkerData = {
      tables: {
        embeddings: version.embeddings,
        embeddingMemory: version.embeddingMemory ?? null,
        dim: version.dim,
        popularity: version.popularity,
        popularityFeature: ctx.popularityFeature,
        logMaxPopularity: ctx.logMaxPopularity,
        itemCategory: version.itemCategory,
        featureColumns: ctx.featureColumns,
        // Copied once (about 30 MB for a million ids), so that the worker writes the answers' items.
        itemIds: version.itemIds,
      },
      modelDir: model.dir,
      fileHashes: { ...model.fileHashes },
    };
    const worker = startWorker(SCORING_WORKER, data);
    await whenReady<FromWorker>(
      worker,
      'scoring worker',
      (m) => new TwoTowerError('MODEL_CONTRACT', `scoring worker of version ${version.id}: ${m.type === 'failed' ? m.message : `unexpected '${m.type}'`}`),
    );
    return new ScoringWorker(worker, onDeath, onBatch);
  }

  /** Why the worker can no longer score (it crashed or was closed); null while it can. */
  get dead(): Error | null {
    return this.#dead;
  }

  /** Scores one request's candidates in the next batch; rejects when the batch or the worker fails. */
  score(job: ScoreJob): Promise<ScoredJob> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise<ScoredJob>((resolve, reject) => {
      if (this.#queue.length === 0 && !this.#busy) setImmediate(this.#flush);
      this.#queue.push({ job, resolve, reject });
    });
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    this.#dead = new TwoTowerError('INTERNAL', 'scoring worker closed');
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' });
    // A worker stuck in a run is not waited for beyond this.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
    this.#rejectAll(this.#dead);
  }

  #send(): void {
    if (this.#busy || this.#queue.length === 0) return;
    const batch = this.#queue.length <= MAX_JOBS ? this.#queue : this.#queue.slice(0, MAX_JOBS);
    this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_JOBS);
    if (this.#dead) {
      for (const w of batch) w.reject(this.#dead);
      return;
    }
    const id = this.#nextId++;
    const { ints, floats } = packJobs(batch.map((w) => w.job));
    this.#inFlight.set(id, { batch, sentAt: performance.now() });
    this.#busy = true;
    this.worker.postMessage({ type: 'score', id, count: batch.length, ints, floats }, [ints.buffer, floats.buffer] as ArrayBuffer[]);
  }

  #onMessage(m: FromWorker): void {
    if (m.type === 'ready') return;
    const id = m.id;
    if (id === null) {
      // Only a failure outside any batch has no id: the worker cannot go on.
      this.#die(new TwoTowerError('INTERNAL', `scoring worker: ${m.type === 'failed' ? m.message : 'message without an id'}`));
      return;
    }
    const sent = this.#inFlight.get(id);
    if (!sent) return;
    this.#inFlight.delete(id);
    const { batch } = sent;
    this.onBatch(batch.length, (performance.now() - sent.sentAt) / 1000);
    this.#busy = false;
    // What queued meanwhile goes at once: the worker is free, and waiting a turn would only add latency.
    this.#send();
    if (m.type === 'failed') {
      const err = new TwoTowerError('INTERNAL', `scoring worker: ${m.message}`);
      for (const w of batch) w.reject(err);
      return;
    }
    const results = unpackResults(m.count, m.ints, m.floats, m.times, m.problems, m.itemsJson, m.runMs);
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  #die(err: Error): void {
    if (this.#dead) return;
    this.#dead = err;
    this.#rejectAll(err);
    void this.worker.terminate();
    this.onDeath(err);
  }

  #rejectAll(err: Error): void {
    for (const w of this.#queue) w.reject(err);
    this.#queue = [];
    for (const { batch } of this.#inFlight.values()) for (const w of batch) w.reject(err);
    this.#inFlight.clear();
  }
}

const attached = new WeakMap<LoadedVersion, ScoringWorker>();

/**
 * Starts a scoring worker for `version` and attaches it: the pipeline then scores that version's
 * requests in it, and closing the version closes it.
 */
export async function attachScoringWorker(version: LoadedVersion, onDeath?: (err: Error) => void, onBatch?: BatchObserver): Promise<ScoringWorker> {
  const existing = attached.get(version);
  if (existing && !existing.dead) return existing;
  const worker = await ScoringWorker.start(version, onDeath, onBatch);
  attached.set(version, worker);
  version.onClose(() => worker.close());
  return worker;
}

/** The worker scoring `version`'s requests, if one is attached and alive. */
export function scoringWorkerOf(version: LoadedVersion): ScoringWorker | null {
  const w = attached.get(version);
  return w && !w.dead ? w : null;
}
