/**
 * Worker thread: runs the item and user towers for the indexer's main thread, which meanwhile
 * encodes the next batch. onnxruntime-node's session.run holds the thread that calls it for the
 * whole run, so encoding and running overlap only on different threads; this thread also widens
 * the int32 indices to int64, which would otherwise be the main thread's work.
 */
import { workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { readModelManifest } from '../../models/manifest.js';
import { openCheckedSession, runTowerSession, sessionOptions } from '../../models/model.js';
import { serveCalls } from '../../shared/workers/serveCalls.js';
import type { TowerRun, TowerWorkerJob } from './protocol.js';

const job = workerData as TowerWorkerJob;

const open = (file: string, threads: number): Promise<ort.InferenceSession> =>
  openCheckedSession(job.modelDir, file, job.fileHashes, sessionOptions(job.device, threads));

await serveCalls<TowerRun, null, null>(async () => {
  const manifest = await readModelManifest(job.modelDir);
  const specs = { item: manifest.itemTower, user: manifest.userTower };
  const sessions = { item: await open(specs.item.file, job.intraOpThreads.item), user: await open(specs.user.file, job.intraOpThreads.user) };
  return {
    info: null,
    answer: async (m) => {
      const data = await runTowerSession(sessions[m.tower], specs[m.tower], m.n * manifest.embeddingDim, m.inputs);
      new Float32Array(m.out).set(data, m.offset);
      return { value: null };
    },
    release: async () => {
      await Promise.all([sessions.item.release(), sessions.user.release()]);
    },
  };
});
