/**
 * The baselines every table shows next to the model: popularity (the most interacted-with training
 * items the user has not seen) and random (unseen items drawn uniformly, seeded). A model that
 * does not beat popularity clearly has learned nothing worth serving.
 */
import { Random } from '../../shared/data/random.js';

/** Items by decreasing popularity, ties by index (a stable order for every run). */
export function popularityOrder(popularity: ArrayLike<number>): Int32Array {
  const order = Array.from({ length: popularity.length }, (_, i) => i);
  order.sort((a, b) => popularity[b] - popularity[a] || a - b);
  return Int32Array.from(order);
}

/** The first k items of `order` not in each user's exclusions. */
export function popularityLists(order: Int32Array, exclude: readonly ReadonlySet<number>[], k: number): Int32Array[] {
  return exclude.map((ex) => {
    const out: number[] = [];
    for (let j = 0; j < order.length && out.length < k; j++) if (!ex.has(order[j])) out.push(order[j]);
    return Int32Array.from(out);
  });
}

/** k distinct unseen items per user, uniformly at random; users draw in order from one seeded stream. */
export function randomLists(nItems: number, exclude: readonly ReadonlySet<number>[], k: number, seed: number): Int32Array[] {
  const rng = new Random(seed);
  return exclude.map((ex) => {
    const available = nItems - ex.size;
    if (available <= 2 * k) {
      // Few items left: shuffle all of them rather than reject most draws.
      const all: number[] = [];
      for (let i = 0; i < nItems; i++) if (!ex.has(i)) all.push(i);
      return Int32Array.from(rng.shuffle(all).slice(0, k));
    }
    const chosen = new Set<number>();
    while (chosen.size < k) {
      const i = rng.int(nItems);
      if (!ex.has(i)) chosen.add(i);
    }
    return Int32Array.from(chosen);
  });
}
