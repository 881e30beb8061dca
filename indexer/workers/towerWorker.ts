/**
 * Worker thread: runs the item and user towers for the indexer's main thread, which meanwhile
 * encodes the next batch. onnxruntime-node's session.run holds the thread that calls it for the
 * whole run, so encoding and running overlap only on different threads; this thread also widens
 * the int32 indices to int64, which would otherwise be the main thread's work.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { readModelManifest } from '../../models/manifest.js';
import { openCheckedSession, runTowerSession, sessionOptions } from '../../models/model.js';
import { postedError } from '../../shared/workers/workerErrors.js';
import type { TowerRunRequest, TowerWorkerJob, TowerWorkerMessage } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('towerWorker must run in a worker thread');
const post = (m: TowerWorkerMessage) => port.postMessage(m);
const job = workerData as TowerWorkerJob;

function failed(id: number | null, err: unknown): TowerWorkerMessage {
  return { type: 'failed', id, ...postedError(err) };
}

const open = (file: string, threads: number): Promise<ort.InferenceSession> =>
  openCheckedSession(job.modelDir, file, job.fileHashes, sessionOptions(job.device, threads));

try {
  const manifest = await readModelManifest(job.modelDir);
  const specs = { item: manifest.itemTower, user: manifest.userTower };
  const sessions = { item: await open(specs.item.file, job.intraOpThreads.item), user: await open(specs.user.file, job.intraOpThreads.user) };
  port.on('message', async (m: TowerRunRequest | { type: 'close' }) => {
    if (m.type === 'close') {
      await Promise.all([sessions.item.release(), sessions.user.release()]);
      port.close();
      return;
    }
    try {
      const data = await runTowerSession(sessions[m.tower], specs[m.tower], m.n * manifest.embeddingDim, m.inputs);
      new Float32Array(m.out).set(data, m.offset);
      post({ type: 'ran', id: m.id });
    } catch (err) {
      post(failed(m.id, err));
    }
  });
  post({ type: 'ready' });
} catch (err) {
  post(failed(null, err));
}
