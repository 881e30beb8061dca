/**
 * Tower runs in flight, at most `depth`: add() waits for the oldest once the limit is reached, so
 * the caller encodes the next batch while the others run.
 */
export class InFlight {
  private readonly queue: Promise<void>[] = [];

  constructor(private readonly depth: number) {}

  async add(run: Promise<void>): Promise<void> {
    run.catch(() => undefined); // awaited in order below; a later failure must not surface as unhandled first
    this.queue.push(run);
    while (this.queue.length >= this.depth) await this.queue.shift();
  }

  async drain(): Promise<void> {
    while (this.queue.length) await this.queue.shift();
  }

  /** After a failure: let the other runs finish (they write into the matrix) before the error is thrown. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.queue.splice(0));
  }
}
