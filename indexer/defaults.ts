/**
 * Build defaults, in a module of their own so the CLI can show them in --help without loading
 * the indexer (onnxruntime, hnswlib). How each was chosen: README "Indexer", bench/indexer.ts.
 */
export const DEFAULTS = {
  topK: 100,
  batchSize: 4096,
  M: 16,
  efConstruction: 100,
  ef: 120,
  minRecall: 0.95,
  minCoverage: 0.05,
  minDistinctItems: 0.5,
  recallSample: 500,
} as const;
