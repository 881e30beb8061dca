/**
 * The ANN recall check: on a fixed sample of users, the lists that will be published against the
 * exact answer. With HNSW retrieval it compares the published (seen-filtered) lists to the exact
 * seen-filtered top-K; with exact retrieval the lists are exact by construction, so the HNSW index
 * the ranker will query online is checked instead (plain top-K against plain top-K).
 */
import hnswlib from 'hnswlib-node';
import { historyOf, type Histories } from '../shared/data/histories.js';
import { overlapRecall } from './checks.js';
import type { ExactTopK } from './exactTopK.js';
import { unseenTopK, type Retrieval } from './userTopK.js';

/** Keeps copies of the candidate lists of the sampled users as they stream past. */
export class SampleRecorder {
  readonly lists = new Map<number, Int32Array>();
  private readonly wanted: Set<number>;

  constructor(
    readonly users: Int32Array,
    readonly k: number,
  ) {
    this.wanted = new Set(users);
  }

  offer(user: number, items: Int32Array): void {
    if (this.wanted.has(user)) this.lists.set(user, items.slice());
  }
}

export async function recallOnSample(
  retrieval: Retrieval,
  sample: SampleRecorder,
  exact: ExactTopK,
  files: string[],
  userVectors: Float32Array,
  histories: Histories,
  k: number,
  ef: number,
): Promise<{ value: number; detail: string }> {
  const users = sample.users;
  const m = users.length;
  if (m === 0) return { value: 1, detail: 'no users to sample' };
  const dim = exact.dim;
  const vectors = new Float32Array(m * dim);
  let maxSeen = 0;
  for (let s = 0; s < m; s++) {
    vectors.set(userVectors.subarray(users[s] * dim, (users[s] + 1) * dim), s * dim);
    maxSeen = Math.max(maxSeen, histories.offsets[users[s] + 1] - histories.offsets[users[s]]);
  }
  let sum = 0;
  if (retrieval === 'hnsw') {
    const truth = await exact.search(vectors, m, k + maxSeen);
    const mark = new Uint8Array(exact.items);
    const out = { items: new Int32Array(k), scores: new Float32Array(k) };
    for (let s = 0; s < m; s++) {
      const n = unseenTopK(truth.indices, truth.scores, s * truth.k, truth.k, historyOf(histories, users[s]), mark, k, out, 0);
      sum += overlapRecall(out.items.subarray(0, n), sample.lists.get(users[s]) ?? new Int32Array(0));
    }
    return { value: sum / m, detail: `published HNSW lists (ef=${ef}, seen removed) against exact search, ${m} sampled users` };
  }
  const truth = await exact.search(vectors, m, k);
  const shards = await Promise.all(
    files.map(async (f) => {
      const index = new hnswlib.HierarchicalNSW('ip', dim);
      await index.readIndex(f);
      index.setEf(ef);
      return index;
    }),
  );
  const q = new Array<number>(dim);
  for (let s = 0; s < m; s++) {
    for (let d = 0; d < dim; d++) q[d] = vectors[s * dim + d];
    const found = new Set<number>();
    for (const index of shards) for (const label of index.searchKnn(q, Math.min(k, index.getCurrentCount())).neighbors) found.add(label);
    sum += overlapRecall(truth.indices.subarray(s * truth.k, (s + 1) * truth.k), Array.from(found));
  }
  return { value: sum / m, detail: `HNSW index (ef=${ef}) against exact search, ${m} sampled users (lists themselves are exact)` };
}
