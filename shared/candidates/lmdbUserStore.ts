/**
 * Known users' features and recent history, needed online for the cold-start path (a known user
 * without precomputed candidates) and to filter items the user has already seen.
 */
import { open, type RootDatabase } from 'lmdb';
import { LmdbWrites, assertRoomToOpen } from './lmdbWrites.js';
import type { KnownUser } from '../store/types.js';

export class LmdbUserWriter {
  private readonly db: RootDatabase<KnownUser, string>;
  private readonly writes: LmdbWrites;
  private pending = 0;

  constructor(file: string) {
    assertRoomToOpen(file);
    this.db = open<KnownUser, string>({ path: file, compression: false });
    this.writes = new LmdbWrites(file);
  }

  /** As LmdbCandidateWriter.put: a failed write (a full disk) is thrown by the next put or by close. */
  async put(userId: string, value: KnownUser): Promise<void> {
    if (this.writes.hasFailed) await this.writes.check();
    this.writes.track(this.db.put(userId, value));
    if (++this.pending >= 10_000) {
      this.pending = 0;
      await this.writes.wait(this.db.flushed);
    }
  }

  /** Flushes and closes; throws a StoreError naming the file when any write failed. */
  async close(): Promise<void> {
    await this.writes.close(this.db);
  }
}

export class LmdbUserStore {
  private readonly db: RootDatabase<KnownUser, string>;

  constructor(file: string) {
    this.db = open<KnownUser, string>({ path: file, readOnly: true });
  }

  get(userId: string): KnownUser | null {
    return this.db.get(userId) ?? null;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
