/**
 * V8 settings for a latency-bound server process, applied when the ranker starts.
 *
 * Allocation-site pretenuring: V8 watches which allocation sites' objects survive young-generation
 * collections and, past a threshold, allocates that site's objects in the old generation directly.
 * A request's objects live about a millisecond, but a stall (a slow batch, a neighbour taking the
 * core) lets a burst of them survive; V8 then pretenures sites such as the scoring worker's
 * answers and the metrics' label objects, and from then on their garbage fills the old generation,
 * whose collections pause the event loop for 6-17 ms. Measured on the 2-core benchmark box at
 * 5,000 requests/s for 10 s (--trace-gc-nvp, server in a child process): with pretenuring 7
 * mark-compacts, 461 requests shed and p99 18.3 ms; without, 4 mark-compacts, 0 and 63 shed, p99
 * 3.3 and 8.8 ms.
 */
import v8 from 'node:v8';

let applied = false;

export function applyServerGcSettings(): void {
  if (applied) return;
  applied = true;
  // Read by V8 at each collection, so setting it after start-up takes effect.
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
