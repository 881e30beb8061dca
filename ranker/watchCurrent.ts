/**
 * Notices when STORE/CURRENT names another version. fs.watch reacts within milliseconds but is
 * not reliable everywhere (network filesystems, some containers, a store folder replaced
 * underneath it), so a slow poll backs it up. Both feed one debounced check of the file's
 * content: a publish renames over CURRENT, which fires several events in a burst.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface WatchCurrentOptions {
  /** Polling period; the fallback when fs.watch says nothing. */
  pollMs?: number;
  debounceMs?: number;
  /** CURRENT's content as already acted on (the serving version's id); read from disk when absent. */
  initial?: string;
}

export interface CurrentWatcher {
  close(): void;
}

/**
 * Calls `onChange` with CURRENT's new content whenever it differs from the last content seen
 * (the content at start counts as seen).
 */
export function watchCurrent(store: string, onChange: (id: string) => void, opts: WatchCurrentOptions = {}): CurrentWatcher {
  const file = path.join(store, 'CURRENT');
  let last: string | null = opts.initial ?? null;
  let closed = false;
  let debounce: NodeJS.Timeout | null = null;
  let checking = false;

  const check = async () => {
    if (checking || closed) return;
    checking = true;
    try {
      const content = await readFile(file, 'utf8').then(
        (s) => s.trim(),
        () => null, // missing or mid-rename: nothing to act on; the next event or poll looks again
      );
      if (closed || content === null || content === last) return;
      last = content;
      onChange(content);
    } finally {
      checking = false;
    }
  };
  const schedule = () => {
    if (closed) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = null;
      void check();
    }, opts.debounceMs ?? 50);
  };

  if (last === null) {
    void readFile(file, 'utf8').then(
      (s) => {
        if (last === null) last = s.trim();
      },
      () => {},
    );
  }

  let watcher: FSWatcher | null = null;
  try {
    // The folder, not the file: a rename over CURRENT replaces the inode a file watch would follow.
    watcher = watch(store, { persistent: false }, (_event, name) => {
      if (name === null || name === 'CURRENT') schedule();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null; // polling alone then
  }
  const poll = setInterval(() => void check(), opts.pollMs ?? 1000);
  poll.unref();

  return {
    close() {
      closed = true;
      if (debounce) clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
