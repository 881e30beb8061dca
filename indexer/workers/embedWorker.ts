/**
 * Worker thread: embeds every `workers`-th raw batch of the catalog with its own copy of the model
 * (one onnxruntime thread), straight into the shared item matrix. Reading, row conversion and
 * encoding cost more than the item tower itself, so the catalog is split by batch across threads
 * rather than handing encoded batches to one onnxruntime session. Skipped batches are never
 * converted (Arrow columns are decoded on demand), so each thread parses only its own rows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '../../models/model.js';
import { rawTableBatches } from '../../shared/data/rawBatches.js';
import { toItemRows } from '../../shared/data/rows.js';
import { TwoTowerError } from '../../shared/errors.js';
import type { EmbedItemsJob, WorkerMessage } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('embedWorker must run in a worker thread');
const post = (m: WorkerMessage) => port.postMessage(m);
const job = workerData as EmbedItemsJob;

try {
  const model = await loadModel(job.modelDir, { device: job.device, intraOpThreads: 1 });
  const vectors = new Float32Array(job.vectors);
  let b = 0;
  let done = 0;
  for await (const batch of rawTableBatches(job.file, job.batchSize)) {
    if (b++ % job.workers !== job.worker || batch.length === 0) continue;
    const rows = toItemRows(job.file, batch);
    vectors.set(await model.embedItems(rows), (batch.firstRow - 1) * job.dim);
    done += rows.length;
    post({ type: 'progress', done });
  }
  await model.close();
  post({ type: 'done', count: done });
} catch (err) {
  if (err instanceof TwoTowerError) post({ type: 'error', message: err.message, code: err.code, details: err.details });
  else post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
