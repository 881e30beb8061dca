/** The per-item files of a version (see shared/store/types.ts for the layout). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFloat32File } from '../shared/store/binaryFiles.js';
import type { ItemEmbedding } from './embedTables.js';
import type { IndexerInputs } from './inputs.js';

/** Most popular items kept as the cold-start fallback list. */
const POPULAR_LIST = 1000;

export async function writeItemFiles(dir: string, inputs: IndexerInputs, items: ItemEmbedding): Promise<void> {
  await writeFloat32File(path.join(dir, 'item_embeddings.f32'), items.vectors);
  await fs.writeFile(path.join(dir, 'item_ids.json'), JSON.stringify(inputs.items.ids));
  await fs.writeFile(path.join(dir, 'item_meta.json'), JSON.stringify({ categories: items.categories, category: Array.from(items.category) }));
  await writeFloat32File(path.join(dir, 'popularity.f32'), inputs.popularity);
  await fs.writeFile(path.join(dir, 'popular.json'), JSON.stringify(topByPopularity(inputs.popularity, POPULAR_LIST)));
}

/** Indices of the n most popular items, ties by index; a partial selection, not a full sort. */
export function topByPopularity(pop: Float32Array, n: number): number[] {
  const order: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < pop.length; i++) {
    if (order.length >= n && pop[i] <= floor) continue;
    order.push(i);
    if (order.length > 2 * n) {
      order.sort((a, b) => pop[b] - pop[a] || a - b);
      order.length = n;
      floor = pop[order[n - 1]];
    }
  }
  order.sort((a, b) => pop[b] - pop[a] || a - b);
  return order.slice(0, n);
}
