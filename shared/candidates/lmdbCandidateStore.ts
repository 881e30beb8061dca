/**
 * The embedded candidate store: LMDB through the `lmdb` package. Memory-mapped, so the ranker's
 * reads cost a page lookup, and the OS page cache is shared by every process reading a version.
 */
import { open, type RootDatabase } from 'lmdb';
import { LmdbWrites, assertRoomToOpen } from './lmdbWrites.js';
import type { CandidateStore, Candidates } from '../store/types.js';
import { packCandidates, unpackCandidates } from './packing.js';

export class LmdbCandidateWriter {
  private readonly db: RootDatabase<Buffer, string>;
  private readonly writes: LmdbWrites;
  private pending = 0;
  count = 0;

  constructor(file: string) {
    assertRoomToOpen(file);
    this.db = open<Buffer, string>({ path: file, encoding: 'binary', compression: false });
    this.writes = new LmdbWrites(file);
  }

  /**
   * Writes are batched into transactions by lmdb; awaiting every 10k keeps memory bounded. A
   * failed write (a full disk) is thrown as a StoreError by the next put or by close.
   */
  async put(userId: string, items: Int32Array, scores: Float32Array): Promise<void> {
    if (this.writes.hasFailed) await this.writes.check();
    this.writes.track(this.db.put(userId, packCandidates(items, scores)));
    this.count++;
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

export class LmdbCandidateStore implements CandidateStore {
  private readonly db: RootDatabase<Buffer, string>;

  constructor(file: string) {
    this.db = open<Buffer, string>({ path: file, encoding: 'binary', readOnly: true });
  }

  get(userId: string): Candidates | null {
    // getBinaryFast hands back lmdb's reusable read buffer (valid until the next read) instead of
    // a copy of its own; unpackCandidates copies out of it at once, so a request makes one copy.
    // That buffer is larger than the value: its `length` (set by lmdb), not its byteLength, is
    // the value's size.
    const buf = this.db.getBinaryFast(userId);
    return buf ? unpackCandidates(buf.subarray(0, buf.length)) : null;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
