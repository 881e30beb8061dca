/** Exact seen-filtered top-K lists of a user sample: the truth recall is measured against. */
import { ExactTopK } from '../../indexer/exactTopK.js';
import { unseenTopK } from '../../indexer/userTopK.js';
import { historyOf, type Histories } from '../../shared/data/histories.js';

export interface Truth {
  users: Int32Array;
  lists: Int32Array[];
}

export async function exactTruth(exact: ExactTopK, userVectors: Float32Array, histories: Histories, users: Int32Array, k: number): Promise<Truth> {
  const dim = exact.dim;
  const sv = new Float32Array(users.length * dim);
  let maxSeen = 0;
  users.forEach((u, s) => {
    sv.set(userVectors.subarray(u * dim, (u + 1) * dim), s * dim);
    maxSeen = Math.max(maxSeen, histories.offsets[u + 1] - histories.offsets[u]);
  });
  const res = await exact.search(sv, users.length, k + maxSeen);
  const mark = new Uint8Array(exact.items);
  const lists = Array.from(users, (u, s) => {
    const out = { items: new Int32Array(k), scores: new Float32Array(k) };
    const n = unseenTopK(res.indices, res.scores, s * res.k, res.k, historyOf(histories, u), mark, k, out, 0);
    return out.items.slice(0, n);
  });
  return { users, lists };
}
