/**
 * A ranker in its own process (started with vite-node by hostileFiles.test.ts): if a damaged
 * version could crash the process that loads it (native code reading a bad file), the test sees
 * this process die instead of dying itself. Reports its URL over IPC; stops on SIGTERM.
 * argv: store; the admin token comes from $TWOTOWER_ADMIN_TOKEN.
 */
import { serve } from '../../ranker/serve.js';

const [store] = process.argv.slice(2);
serve({ store, port: 0, logger: false, watch: false, processMetrics: false }).then(
  (server) => {
    process.send?.({ url: server.url });
    process.once('SIGTERM', () => {
      void server.close().then(() => process.exit(0));
    });
  },
  (err: unknown) => {
    process.send?.({ error: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
  },
);
