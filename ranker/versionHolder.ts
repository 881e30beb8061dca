/**
 * The one place routes get the serving version from. A request reads it once at its start and
 * keeps that object to the end, so a swap never mixes two versions within one response.
 */
import type { LoadedVersion } from '../shared/store/types.js';

export class VersionHolder {
  #current: LoadedVersion | null;

  constructor(initial: LoadedVersion | null = null) {
    this.#current = initial;
  }

  get(): LoadedVersion | null {
    return this.#current;
  }

  /**
   * Puts `next` in service and returns the version it replaced. The caller closes that one, and
   * only once the requests already holding it are done.
   */
  swap(next: LoadedVersion | null): LoadedVersion | null {
    const previous = this.#current;
    this.#current = next;
    return previous;
  }
}
