/**
 * Turns the request's item ids into item indices of the version. Unknown ids are reported back
 * (the catalog changes nightly; a client holding an old id is normal, not an error).
 */
import type { KnownUser, LoadedVersion } from '../../shared/store/types.js';
import type { RankRequest, Stage } from './types.js';

export interface ResolveInput {
  version: LoadedVersion;
  request: RankRequest;
}

export interface ResolvedRequest {
  knownUser: KnownUser | null;
  /** Known session items, in request order (most recent last). */
  sessionItems: Int32Array;
  sessionIds: string[];
  /** Items the response must not contain: the user's history, the session, the exclusions. */
  drop: Set<number>;
  ignored: { session: string[]; exclude: string[] };
}

export const resolveStage: Stage<ResolveInput, ResolvedRequest> = {
  name: 'resolve',
  run: ({ version, request }) => resolveRequest(version, request),
};

export function resolveRequest(version: LoadedVersion, request: RankRequest): ResolvedRequest {
  const { itemIndex } = version;
  const knownUser = version.users.get(request.userId);
  const drop = new Set<number>();
  if (knownUser) {
    // History ids missing from this version's catalog are items that left it: nothing to drop.
    for (const id of knownUser.history) {
      const i = itemIndex.get(id);
      if (i !== undefined) drop.add(i);
    }
  }
  const session: number[] = [];
  const sessionIds: string[] = [];
  const ignoredSession = new Set<string>();
  for (const id of request.sessionItems) {
    const i = itemIndex.get(id);
    if (i === undefined) ignoredSession.add(id);
    else {
      session.push(i);
      sessionIds.push(id);
      drop.add(i);
    }
  }
  const ignoredExclude = new Set<string>();
  for (const id of request.exclude) {
    const i = itemIndex.get(id);
    if (i === undefined) ignoredExclude.add(id);
    else drop.add(i);
  }
  return {
    knownUser,
    sessionItems: Int32Array.from(session),
    sessionIds,
    drop,
    ignored: { session: [...ignoredSession], exclude: [...ignoredExclude] },
  };
}
