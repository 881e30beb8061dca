/**
 * A seed ensemble: members trained alike from different seeds, served as one model whose
 * embedding is the members' embeddings side by side, each scaled by 1/√M. user · item is then the
 * mean of the members' similarities, and a cosine model's embeddings keep unit length, so the
 * index, the ranker features and every consumer of the model contract work unchanged (at M times
 * the dimension). Averaging independent runs cancels much of the seed-to-seed variance of one run.
 */
import type { PreparedData } from './dataset.js';
import { embedAllItems, embedUsersAt } from './towerInputs.js';
import type { TowerNet } from './towerNet.js';

/** The trained towers of one member. */
export interface TowerPair {
  itemNet: TowerNet;
  userNet: TowerNet;
}

/** Embedding dimension of the ensemble: the members' dimensions summed. */
export function ensembleDim(nets: readonly TowerNet[]): number {
  return nets.reduce((sum, n) => sum + n.D, 0);
}

/** Row r of the result is [parts[0] row r, parts[1] row r, …] / √M. */
export function concatMembers(parts: readonly Float32Array[], dims: readonly number[], rows: number): Float32Array {
  if (parts.length === 1) return parts[0];
  const D = dims.reduce((a, b) => a + b, 0);
  // Rounded to float32 as the exported graph holds it, so both give the same products.
  const scale = Math.fround(1 / Math.sqrt(parts.length));
  const out = new Float32Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let o = r * D;
    parts.forEach((p, m) => {
      const dm = dims[m];
      for (let j = 0; j < dm; j++) out[o + j] = p[r * dm + j] * scale;
      o += dm;
    });
  }
  return out;
}

/** Every catalog item's ensemble embedding with the trainer's forward pass (rows × ensembleDim). */
export function embedAllItemsOf(d: PreparedData, nets: readonly TowerNet[]): Float32Array {
  return concatMembers(nets.map((n) => embedAllItems(d, n)), nets.map((n) => n.D), d.nItems);
}

/** users[r]'s ensemble embedding with the history before position ends[r]. */
export function embedUsersAtOf(d: PreparedData, nets: readonly TowerNet[], users: Int32Array, ends: Int32Array): Float32Array {
  return concatMembers(nets.map((n) => embedUsersAt(d, n, users, ends)), nets.map((n) => n.D), users.length);
}
