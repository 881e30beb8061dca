/**
 * The benchmark's request: a known user, a session of 5 items drawn from the catalog, k = 20 (the
 * realistic body issue 4 names). One source for every bench entry point, so that their rates and
 * CPU figures are for the same request.
 */
interface BenchIds {
  userIds: readonly string[];
  itemIds: readonly string[];
}

export interface BenchRankRequest {
  userId: string;
  k: number;
  session: { items: string[] };
}

/** Draws requests with `random` (Math.random unless a run must see a fixed sequence). */
export function rankRequests(ids: BenchIds, random: () => number = Math.random): () => BenchRankRequest {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  return () => ({ userId: pick(ids.userIds), k: 20, session: { items: [pick(ids.itemIds), pick(ids.itemIds), pick(ids.itemIds), pick(ids.itemIds), pick(ids.itemIds)] } });
}

/** The same requests as JSON bodies. */
export function rankBodies(ids: BenchIds): () => string {
  const next = rankRequests(ids);
  return () => JSON.stringify(next());
}
