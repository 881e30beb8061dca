/**
 * The load generator's own process (see generatorProcess.ts): runs each schedule it is sent with
 * runOpenLoop and sends back the result. It holds nothing between runs but its compiled code.
 */
import { runOpenLoop, type OpenLoopResult, type RequestPool } from './openLoop.js';

export interface GeneratorRun {
  url: string;
  rate: number;
  durationS: number;
  connections: number;
  countContaining?: string;
  requests: RequestPool;
}

export type GeneratorReply = { ok: true; result: OpenLoopResult } | { ok: false; message: string };

process.on('message', (run: GeneratorRun) => {
  runOpenLoop(run).then(
    (result) => process.send?.({ ok: true, result } satisfies GeneratorReply),
    (err: unknown) => process.send?.({ ok: false, message: err instanceof Error ? err.message : String(err) } satisfies GeneratorReply),
  );
});
process.on('disconnect', () => process.exit(0));
