/**
 * The worker's side of callProtocol.ts: loads what the worker holds, says 'ready' (or why not),
 * then answers each call, and on 'close' releases what it holds and lets the thread end.
 */
import { parentPort } from 'node:worker_threads';
import type { FromCallWorker, ToCallWorker } from './callProtocol.js';
import { postedError } from './workerErrors.js';

export interface CallHandler<C, R, Ready> {
  /** What the caller learns once the worker is ready. */
  info: Ready;
  /** The answer, and the buffers to move rather than copy with it. */
  answer(call: C): Promise<{ value: R; transfer?: ArrayBuffer[] }>;
  release(): Promise<void>;
}

export async function serveCalls<C, R, Ready>(load: () => Promise<CallHandler<C, R, Ready>>): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serveCalls must run in a worker thread');
  const post = (m: FromCallWorker<R, Ready>, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let handler: CallHandler<C, R, Ready>;
  try {
    handler = await load();
  } catch (err) {
    post({ type: 'failed', id: null, ...postedError(err) });
    return;
  }
  port.on('message', async (m: ToCallWorker<C>) => {
    if (m.type === 'close') {
      await handler.release();
      port.close();
      return;
    }
    try {
      const { value, transfer } = await handler.answer(m.call);
      post({ type: 'done', id: m.id, value }, transfer);
    } catch (err) {
      post({ type: 'failed', id: m.id, ...postedError(err) });
    }
  });
  post({ type: 'ready', info: handler.info });
}
