/**
 * Every user of a prepared world with their whole training history, both as the trainer indexes
 * it (users, history ends) and as the model's embedUsers takes it (ids and item ids): what the
 * export-parity tests feed both sides.
 */
import type { World } from '../../shared/data/generate.js';
import type { UserQuery } from '../../models/types.js';
import type { PreparedData } from '../../models/train/dataset.js';

export function fullHistoryQueries(d: PreparedData, world: World): { users: Int32Array; ends: Int32Array; queries: UserQuery[] } {
  const itemIds = d.vocabs.get('items')!;
  const userIds = d.vocabs.get('users')!;
  const users = Int32Array.from({ length: d.nUsers }, (_, u) => u);
  const ends = users.map((u) => d.userStart[u + 1]);
  const rows = new Map(world.users.map((u) => [u.userId, u]));
  const queries: UserQuery[] = Array.from(users, (u) => {
    const id = userIds.valueAt(u + 1)!;
    const history: string[] = [];
    for (let p = d.userStart[u]; p < ends[u]; p++) history.push(itemIds.valueAt(d.seqItem[p] + 1)!);
    return { userId: id, user: rows.get(id) ?? null, history };
  });
  return { users, ends, queries };
}
