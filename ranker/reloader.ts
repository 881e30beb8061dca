/**
 * Puts a newly published version in service without dropping a request: load it beside the one
 * serving, warm it, then swap in one assignment. A version that fails to load or warm is refused
 * and the old one keeps serving; a refused id is not retried by the watcher (it would fail the
 * same way every second), only by an explicit reload.
 */
import { TwoTowerError } from '../shared/errors.js';
import type { LoadedVersion } from '../shared/store/types.js';
import { readCurrent } from '../shared/store/versionStore.js';
import type { VersionHolder } from './versionHolder.js';

export type ReloadOutcome =
  | { status: 'swapped'; indexVersion: string; previousVersion: string | null }
  | { status: 'unchanged'; indexVersion: string | null }
  | { status: 'refused'; versionId: string; reason: string };

export interface ReloadLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface ReloaderOptions {
  store: string;
  holder: VersionHolder;
  load: (store: string, id: string) => Promise<LoadedVersion>;
  /** Throws when the version must not take traffic. */
  warm: (version: LoadedVersion) => Promise<unknown>;
  log: ReloadLogger;
  onOutcome?: (outcome: ReloadOutcome) => void;
}

export class VersionReloader {
  readonly #opts: ReloaderOptions;
  readonly #refused = new Map<string, string>();
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: ReloaderOptions) {
    this.#opts = opts;
  }

  /** Why `id` was refused, if it was. */
  refusal(id: string): string | undefined {
    return this.#refused.get(id);
  }

  /**
   * Serves the version CURRENT names, if it is not already serving. Reloads run one at a time
   * (two would load the same version twice); `force` retries a version refused before; `replace`
   * loads a fresh copy even of the version serving (one that lost a worker thread).
   */
  reload(opts: { force?: boolean; replace?: boolean } = {}): Promise<ReloadOutcome> {
    const run = this.#chain.then(() => this.#reloadNow(opts.force ?? false, opts.replace ?? false));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Waits for a reload under way; later reloads do nothing (the service is shutting down). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
  }

  async #reloadNow(force: boolean, replace: boolean): Promise<ReloadOutcome> {
    const { store, holder, log } = this.#opts;
    if (this.#closed) return { status: 'unchanged', indexVersion: holder.get()?.id ?? null };
    const serving = holder.get()?.id ?? null;
    let id: string | null;
    try {
      id = await readCurrent(store);
    } catch (err) {
      return this.#report({ status: 'refused', versionId: '(CURRENT)', reason: `cannot read CURRENT: ${message(err)}` });
    }
    if (id === null || (id === serving && !replace)) return { status: 'unchanged', indexVersion: serving };
    const refusedBefore = this.#refused.get(id);
    if (refusedBefore !== undefined && !force) return { status: 'refused', versionId: id, reason: refusedBefore };

    const t0 = performance.now();
    let next: LoadedVersion | undefined;
    try {
      next = await this.#opts.load(store, id);
      await this.#opts.warm(next);
    } catch (err) {
      await next?.close().catch(() => {});
      const reason = message(err);
      this.#refused.set(id, reason);
      log.error({ versionId: id, serving, reason }, 'refused new index version; the old one keeps serving');
      return this.#report({ status: 'refused', versionId: id, reason });
    }
    this.#refused.delete(id);
    if (this.#closed) {
      // Shutdown began while this version loaded: putting it in service now would leak it.
      await next.close();
      return { status: 'unchanged', indexVersion: serving };
    }
    // The old version closes once its last in-flight request releases it; nobody waits on that.
    void holder.swap(next);
    log.info({ versionId: id, previous: serving, loadMs: Math.round(performance.now() - t0) }, 'index version swapped');
    return this.#report({ status: 'swapped', indexVersion: id, previousVersion: serving });
  }

  #report(outcome: ReloadOutcome): ReloadOutcome {
    this.#opts.onOutcome?.(outcome);
    return outcome;
  }
}

function message(err: unknown): string {
  if (err instanceof TwoTowerError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
