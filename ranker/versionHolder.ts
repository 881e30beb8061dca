/**
 * The one place routes get the serving version from, with reference counting so that a swap
 * never pulls a version from under a request: a request takes a lease at its start, keeps that
 * version object to its end (one response never mixes two versions), and a replaced version is
 * closed only once its last lease is released. Until then its ONNX sessions, LMDB handles and
 * arrays stay valid; after, dropping the holder's reference lets the GC take its memory.
 */
import type { LoadedVersion } from '../shared/store/types.js';

export interface VersionLease {
  readonly version: LoadedVersion;
  /** Ends this request's use of the version; calling it again does nothing. */
  release(): void;
}

interface Entry {
  readonly version: LoadedVersion;
  leases: number;
  retired: boolean;
  closing: Promise<void> | null;
  onDrained: (() => void) | null;
}

export type CloseErrorHandler = (err: unknown, version: LoadedVersion) => void;

export class VersionHolder {
  #current: Entry | null = null;
  readonly #retiring = new Set<Entry>();
  readonly #onCloseError: CloseErrorHandler;

  constructor(initial: LoadedVersion | null = null, onCloseError: CloseErrorHandler = () => {}) {
    if (initial) this.#current = newEntry(initial);
    this.#onCloseError = onCloseError;
  }

  /** The serving version, for a glance (readiness, metrics); a request takes a lease instead. */
  get(): LoadedVersion | null {
    return this.#current?.version ?? null;
  }

  /** A lease on the serving version, or null when none is loaded. */
  acquire(): VersionLease | null {
    const entry = this.#current;
    if (!entry) return null;
    entry.leases++;
    let released = false;
    return {
      version: entry.version,
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        if (entry.retired && entry.leases === 0) this.#close(entry);
      },
    };
  }

  /** Leases still open on `version` (0 for a version this holder does not know). */
  leases(version: LoadedVersion): number {
    if (this.#current?.version === version) return this.#current.leases;
    for (const e of this.#retiring) if (e.version === version) return e.leases;
    return 0;
  }

  /** Versions replaced but not yet closed, because requests still hold them. */
  get retiring(): number {
    return this.#retiring.size;
  }

  /**
   * Puts `next` in service at once. The replaced version is closed when its last lease is
   * released; the promise resolves then (immediately when nothing held it). A close error goes
   * to the handler rather than to the caller, whose swap did succeed.
   */
  swap(next: LoadedVersion | null): Promise<void> {
    const previous = this.#current;
    if (previous?.version === next) return Promise.resolve();
    this.#current = next ? newEntry(next) : null;
    if (!previous) return Promise.resolve();
    previous.retired = true;
    this.#retiring.add(previous);
    const drained = new Promise<void>((resolve) => {
      previous.onDrained = resolve;
    });
    if (previous.leases === 0) this.#close(previous);
    return drained;
  }

  #close(entry: Entry): void {
    if (entry.closing) return;
    entry.closing = entry.version
      .close()
      .catch((err: unknown) => this.#onCloseError(err, entry.version))
      .finally(() => {
        this.#retiring.delete(entry);
        entry.onDrained?.();
      });
  }
}

function newEntry(version: LoadedVersion): Entry {
  return { version, leases: 0, retired: false, closing: null, onDrained: null };
}
