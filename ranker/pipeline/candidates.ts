/**
 * Where candidates come from: the caller's own list when it sends one; else, cheapest first, the
 * user's list precomputed overnight; else a live retrieval (user tower + HNSW) when there is
 * anything to embed (a known user or a session); else the popularity list.
 */
import type { UserQuery } from '../../models/types.js';
import type { KnownUser, LoadedVersion } from '../../shared/store/types.js';
import type { ResolvedUser } from './resolve.js';
import type { CandidateList, CandidateSource, PipelineLogger, Stage } from './types.js';

export interface CandidatesInput {
  version: LoadedVersion;
  log: PipelineLogger;
  userId: string;
  /**
   * The known user and everything a live retrieval drops, looked up on first call (the caller
   * memoises it). The precomputed path never calls it: its lists were written without the
   * user's history, and it is the common path, so it skips the user store and the decode.
   */
  user: () => ResolvedUser;
  /** Known session item ids, most recent last. */
  sessionIds: readonly string[];
  /** What the request itself drops (session, exclude): all a precomputed or caller list needs. */
  requestDrop: ReadonlySet<number>;
  /** How many candidates should survive the filter; a live retrieval adds what it may drop. */
  want: number;
  /** False forces a live retrieval, for when the precomputed list turned out too short. */
  usePrecomputed: boolean;
  /** The caller's candidates (item indices, caller order), or null to retrieve. */
  callerItems: Int32Array | null;
  /** Runs the user tower for one user (a batcher); the model's embedUsers when absent. */
  embedUser?: (query: UserQuery) => Promise<Float32Array>;
}

export interface CandidatesOutput extends CandidateList {
  source: CandidateSource;
  /** True when a live retrieval failed and the popularity list stood in for it. */
  degraded: boolean;
  /** What the filter must drop from these candidates. */
  drop: ReadonlySet<number>;
}

export const candidatesStage: Stage<CandidatesInput, CandidatesOutput> = {
  name: 'candidates',
  run: fetchCandidates,
};

export async function fetchCandidates(inp: CandidatesInput): Promise<CandidatesOutput> {
  const { version } = inp;
  if (inp.callerItems) return scoreCallerItems(inp, inp.callerItems);
  if (inp.usePrecomputed) {
    const pre = version.candidates.get(inp.userId);
    if (pre) return { items: pre.items, scores: pre.scores, source: 'precomputed', degraded: false, drop: inp.requestDrop };
  }
  const { knownUser, drop } = inp.user();
  // Every dropped item could be among the nearest, so fetch that many more than needed.
  const need = inp.want + drop.size;
  if (knownUser || inp.sessionIds.length > 0) {
    try {
      return sourced(await retrieveLive(inp, knownUser, need), 'cold_start', false, drop);
    } catch (err) {
      // A user-tower or index failure must not fail the request: popularity is a worse answer,
      // not a wrong one, and the response says it is degraded.
      inp.log.warn({ err, userId: inp.userId }, 'live retrieval failed; answering from popularity');
      return sourced(popularCandidates(version, need), 'popular', true, drop);
    }
  }
  return sourced(popularCandidates(version, need), 'popular', false, drop);
}

/**
 * The list with where it came from. Field by field, not `{ ...list, source, ... }`: on the live
 * path that spread made the HTTP thread promote ~90 KB per scavenge at 1,000 req/s (9 KB without;
 * --trace-gc-nvp), old-space garbage that a mark-compact then had to stop the thread for.
 */
function sourced(list: CandidateList, source: CandidateSource, degraded: boolean, drop: ReadonlySet<number>): CandidatesOutput {
  return { items: list.items, scores: list.scores, source, degraded, drop };
}

/** The user as the index sees them: the user tower over what is known and the session. */
async function liveUserVector(inp: CandidatesInput, knownUser: KnownUser | null): Promise<Float32Array> {
  const { version } = inp;
  const history = [...(knownUser?.history ?? []), ...inp.sessionIds];
  const query: UserQuery = { userId: inp.userId, user: knownUser?.user ?? null, history };
  const emb = inp.embedUser ? await inp.embedUser(query) : await version.model.embedUsers([query]);
  return userQueryVector(emb.subarray(0, version.dim), version.model.similarity);
}

/**
 * A caller's list keeps the caller's order (it is the "retrieval order" a degraded answer falls
 * back to) and gets the same retrieval score a retrieved candidate would: the similarity of the
 * live user vector to the item. Without anything to embed the score is 0, as for popularity.
 */
async function scoreCallerItems(inp: CandidatesInput, items: Int32Array): Promise<CandidatesOutput> {
  const drop = inp.requestDrop;
  const scores = new Float32Array(items.length);
  if (items.length === 0) return { items, scores, source: 'caller', degraded: false, drop };
  const { knownUser } = inp.user();
  if (!knownUser && inp.sessionIds.length === 0) return { items, scores, source: 'caller', degraded: false, drop };
  let query: Float32Array;
  try {
    query = await liveUserVector(inp, knownUser);
  } catch (err) {
    inp.log.warn({ err, userId: inp.userId }, 'user tower failed; caller candidates keep a retrieval score of 0');
    return { items, scores, source: 'caller', degraded: true, drop };
  }
  const { embeddings: E, dim } = inp.version;
  for (let i = 0; i < items.length; i++) {
    const base = items[i] * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += query[d] * E[base + d];
    scores[i] = dot;
  }
  return { items, scores, source: 'caller', degraded: false, drop };
}

async function retrieveLive(inp: CandidatesInput, knownUser: KnownUser | null, need: number): Promise<CandidateList> {
  const { version } = inp;
  const query = await liveUserVector(inp, knownUser);
  const n = Math.min(need, version.index.count);
  if (n <= 0) return { items: new Int32Array(0), scores: new Float32Array(0) };
  const { labels, distances } = await version.index.search(query, n);
  const scores = new Float32Array(distances.length);
  // The 'ip' space reports distance = 1 - dot.
  for (let i = 0; i < scores.length; i++) scores[i] = 1 - distances[i];
  return { items: labels, scores };
}

/** The query as the index expects it: unit length under cosine, finite in any case. */
export function userQueryVector(v: Float32Array, similarity: 'dot' | 'cosine'): Float32Array {
  let norm2 = 0;
  for (let d = 0; d < v.length; d++) norm2 += v[d] * v[d];
  if (!Number.isFinite(norm2)) throw new Error('user tower returned a non-finite embedding');
  if (similarity !== 'cosine' || norm2 === 0) return v;
  const out = new Float32Array(v.length);
  const inv = 1 / Math.sqrt(norm2);
  for (let d = 0; d < v.length; d++) out[d] = v[d] * inv;
  return out;
}

/**
 * The head of the popularity list. Its retrieval score is 0: there is no user vector to compare
 * with, and the ranker already sees popularity as a feature of its own.
 */
export function popularCandidates(version: LoadedVersion, need: number): CandidateList {
  const items = version.popular.subarray(0, Math.min(need, version.popular.length));
  return { items, scores: new Float32Array(items.length) };
}
