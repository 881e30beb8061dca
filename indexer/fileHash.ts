/** sha256 of an input file in a worker thread (see workers/hashWorker.ts). */
import { InputError } from '../shared/errors.js';
import { runWorker } from './workers/runWorker.js';
import { startWorker } from '../shared/workers/startWorker.js';

const HASH_WORKER = new URL('./workers/hashWorker.js', import.meta.url);

export async function fileSha256InWorker(file: string, signal?: AbortSignal): Promise<string> {
  let digest = '';
  try {
    await runWorker(startWorker(HASH_WORKER, { file }), { signal, onDone: (m) => (digest = m.digest ?? '') });
  } catch (err) {
    throw new InputError({ file }, `cannot read: ${(err as Error).message.replace(/^worker failed: /, '')}`);
  }
  return digest;
}
