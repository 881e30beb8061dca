/**
 * Turns the request's item ids into item indices of the version. Unknown ids are reported back
 * (the catalog changes nightly; a client holding an old id is normal, not an error).
 */
import type { KnownUser, LoadedVersion } from '../../shared/store/types.js';
import type { IgnoredIds, RankRequest, SyncStage } from './types.js';

export interface ResolveInput {
  version: LoadedVersion;
  request: RankRequest;
}

export interface ResolvedRequest {
  /** Known session items, in request order (most recent last). */
  sessionItems: Int32Array;
  sessionIds: string[];
  /**
   * What this request names to drop: the session and the exclusions. A precomputed list needs no
   * more (the indexer already removed the user's history from it), nor does a caller-supplied
   * one: the caller chose its list knowing its own business (a "buy again" row is made of seen
   * items), so the user's history is not held against it.
   */
  requestDrop: Set<number>;
  /** The caller's candidates as item indices, first occurrence kept, caller order; null when absent. */
  callerItems: Int32Array | null;
  ignored: IgnoredIds;
}

/** The known user, looked up only for the paths that need them (see ResolvedRequest.requestDrop). */
export interface ResolvedUser {
  knownUser: KnownUser | null;
  /** Everything a live retrieval must drop: the user's history and the request's drops. */
  drop: Set<number>;
}

export const resolveStage: SyncStage<ResolveInput, ResolvedRequest> = {
  name: 'resolve',
  run: ({ version, request }) => resolveRequest(version, request),
};

export function resolveRequest(version: LoadedVersion, request: RankRequest): ResolvedRequest {
  const { itemIndex } = version;
  const session: number[] = [];
  const sessionIds: string[] = [];
  const requestDrop = new Set<number>();
  let ignoredSession: Set<string> | null = null;
  for (const id of request.sessionItems) {
    const i = itemIndex.get(id);
    if (i === undefined) (ignoredSession ??= new Set()).add(id);
    else {
      session.push(i);
      sessionIds.push(id);
      requestDrop.add(i);
    }
  }
  let ignoredExclude: Set<string> | null = null;
  for (const id of request.exclude) {
    const i = itemIndex.get(id);
    if (i === undefined) (ignoredExclude ??= new Set()).add(id);
    else requestDrop.add(i);
  }
  const ignored: IgnoredIds = { session: ignoredSession ? [...ignoredSession] : [], exclude: ignoredExclude ? [...ignoredExclude] : [] };
  let callerItems: Int32Array | null = null;
  if (request.candidates) {
    const caller = resolveCallerCandidates(itemIndex, request.candidates);
    callerItems = caller.items;
    ignored.candidates = caller.ignored;
  }
  return { sessionItems: Int32Array.from(session), sessionIds, requestDrop, callerItems, ignored };
}

/** Looks the user up (an LMDB read and a decode) and adds their history to the request's drops. */
export function resolveUser(version: LoadedVersion, userId: string, requestDrop: ReadonlySet<number>): ResolvedUser {
  const knownUser = version.users.get(userId);
  const drop = new Set<number>();
  if (knownUser) {
    // History ids missing from this version's catalog are items that left it: nothing to drop.
    for (const id of knownUser.history) {
      const i = version.itemIndex.get(id);
      if (i !== undefined) drop.add(i);
    }
  }
  for (const i of requestDrop) drop.add(i);
  return { knownUser, drop };
}

/** Known ids in caller order, each once (a duplicate would take two of the k slots). */
export function resolveCallerCandidates(
  itemIndex: ReadonlyMap<string, number>,
  ids: readonly string[],
): { items: Int32Array; ignored: string[] } {
  const items = new Int32Array(ids.length);
  const seen = new Set<number>();
  const ignored = new Set<string>();
  let m = 0;
  for (const id of ids) {
    const i = itemIndex.get(id);
    if (i === undefined) ignored.add(id);
    else if (!seen.has(i)) {
      seen.add(i);
      items[m++] = i;
    }
  }
  return { items: items.subarray(0, m), ignored: [...ignored] };
}
