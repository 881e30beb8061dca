/**
 * The public face of a loaded model (see models/manifest.ts for the contract on disk).
 * The indexer and the ranker only talk to models through this interface.
 */
import type { ItemRow, UserRow } from '../shared/data/types.js';

/** What the user tower needs to embed one user, known or not. */
export interface UserQuery {
  /** The user's id if known to the model; unknown or null ids fall back to the shared "unknown" slot. */
  userId: string | null;
  /** User features if known (cat_* / num_* columns); null embeds without them. */
  user: UserRow | null;
  /** Item ids the user interacted with, oldest first, most recent last; unknown ids are skipped. */
  history: string[];
}

export interface TwoTowerModel {
  readonly dir: string;
  /** Stable id of this model (from its manifest), recorded in every index version built with it. */
  readonly modelVersion: string;
  readonly dim: number;
  readonly similarity: 'dot' | 'cosine';
  /** Ranker feature names, in the order of the ranker's input columns. */
  readonly rankerFeatures: readonly string[];
  /** sha256 of every file of the model folder, keyed by file name. */
  readonly fileHashes: Readonly<Record<string, string>>;
  /** Embeds items: returns rows.length × dim, row-major. */
  embedItems(rows: ItemRow[]): Promise<Float32Array>;
  /** Embeds users: returns queries.length × dim, row-major. */
  embedUsers(queries: UserQuery[]): Promise<Float32Array>;
  /** Scores n candidates whose features are n × rankerFeatures.length, row-major. */
  scoreRanker(features: Float32Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
}
