/**
 * Build defaults, in a module of their own so the CLI can show them in --help without loading
 * the indexer (onnxruntime, hnswlib). How each was chosen: README "Indexer", bench/indexer.ts.
 */
export const DEFAULTS = {
  topK: 100,
  batchSize: 4096,
  // At 1M items of the bench world, recall@100 of the published lists against exact search:
  // M=16 efC=100: 0.85 (ef 120), 0.90 (ef 200), 0.92 (ef 300); M=24 efC=100 ef=250: 0.93;
  // M=32 efC=100 ef=250: 0.93; M=16 efC=200: 0.976 (ef 200), 0.983 (ef 300); M=32 efC=200
  // ef=150: 0.968. efConstruction is what this clustered catalog needs, and M=16 keeps the
  // build at about 200 CPU-seconds (M=32 efC=200: about twice that).
  M: 16,
  efConstruction: 200,
  ef: 200,
  minRecall: 0.95,
  minCoverage: 0.05,
  minDistinctItems: 0.5,
  recallSample: 500,
} as const;
