/**
 * The tables a protocol run needs from a data folder. A protocol splits the whole log itself, so
 * the folder's interactions and holdout tables (an importer's own temporal cut) are read as one.
 */
import { loadTrainingData } from '../../shared/data/loadTrainingData.js';
import { loadInteractions, resolveTable } from '../../shared/data/readers.js';
import type { InteractionRow, ItemRow, UserRow } from '../../shared/data/types.js';

export interface ProtocolData {
  items: ItemRow[];
  users: UserRow[];
  /** Every interaction of the folder: interactions, then holdout. */
  interactions: InteractionRow[];
}

export async function loadProtocolData(dir: string): Promise<ProtocolData> {
  const data = await loadTrainingData(dir);
  const holdoutFile = resolveTable(dir, 'holdout');
  const interactions = holdoutFile ? data.interactions.concat(await loadInteractions(holdoutFile)) : data.interactions;
  return { items: data.items, users: data.users, interactions };
}
