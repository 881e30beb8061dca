/**
 * Known users' features and recent history, needed online for the cold-start path (a known user
 * without precomputed candidates) and to filter items the user has already seen.
 */
import { open, type RootDatabase } from 'lmdb';
import type { KnownUser } from '../store/types.js';

export class LmdbUserWriter {
  private readonly db: RootDatabase<KnownUser, string>;
  private pending = 0;

  constructor(file: string) {
    this.db = open<KnownUser, string>({ path: file, compression: false });
  }

  async put(userId: string, value: KnownUser): Promise<void> {
    void this.db.put(userId, value);
    if (++this.pending >= 10_000) {
      this.pending = 0;
      await this.db.flushed;
    }
  }

  async close(): Promise<void> {
    await this.db.flushed;
    await this.db.close();
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
