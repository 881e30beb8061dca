/**
 * The ranker in a child process of the benchmark, so that the load generator and the service do
 * not share an event loop (on 2 cores, each gets one). Reports its URL over IPC, stops on SIGTERM.
 * argv: store, 'static' | 'dynamic', budgetMs, maxInFlight, 'batch' | 'nobatch', 'worker' | 'thread'
 * (scoring in the scoring worker, the default, or features on the HTTP thread and the ranker run in
 * the version's model thread).
 */
import { serve } from '../ranker/serve.js';

const [store, mode, budget, maxInFlight, batch, scoring] = process.argv.slice(2);
const server = await serve({
  store,
  port: 0,
  logger: false,
  watch: false,
  processMetrics: false,
  usePrecomputed: mode !== 'dynamic',
  budgetMs: Number(budget),
  maxInFlight: Number(maxInFlight),
  ...(batch ? { microBatch: batch === 'batch' } : {}),
  scoringWorker: scoring !== 'thread',
});
process.send?.({ url: server.url });
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
