/**
 * The load generator as a child process (started by load.ts with vite-node): it takes runs over
 * IPC and answers each with its LoadResult, so one process serves every phase of a test.
 */
import { runLoad, type LoadOptions, type StopSignal } from './loadGen.js';

let stop: StopSignal = { stopped: false };
process.on('message', (msg: { cmd: 'run'; opts: LoadOptions } | { cmd: 'stop' } | { cmd: 'exit' }) => {
  if (msg.cmd === 'exit') {
    process.disconnect?.();
    return;
  }
  if (msg.cmd === 'stop') {
    stop.stopped = true;
    return;
  }
  stop = { stopped: false };
  runLoad(msg.opts, stop).then(
    (result) => process.send?.({ result }),
    (err: unknown) => process.send?.({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.send?.({ ready: true });
