/**
 * Worker thread: loads a model folder (loadModel: hashes, vocabularies, three onnxruntime
 * sessions, the smoke test) and runs its towers and ranker for the thread that started it.
 *
 * Why a thread: onnxruntime-node creates a session synchronously, and with the vocabularies and
 * the hashing, loading the 100k-item bench model held its thread for up to ~100 ms at a time. On
 * the ranker's HTTP thread that is a hot swap answering late; here it is no one's latency. The
 * user tower's encoding (vocabulary lookups) and run leave the HTTP thread with it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { postedError } from '../shared/workers/workerErrors.js';
import { loadModel, type LoadedModel } from './model.js';
import type { FromModelWorker, ModelCall, ModelWorkerData, ToModelWorker } from './modelWorkerProtocol.js';

const port = parentPort;
if (!port) throw new Error('modelWorker must run in a worker thread');
const post = (m: FromModelWorker) => port.postMessage(m);
const data = workerData as ModelWorkerData;

function run(model: LoadedModel, call: ModelCall): Promise<Float32Array> {
  switch (call.op) {
    case 'embedUsers':
      return model.embedUsers(call.queries);
    case 'embedItems':
      return model.embedItems(call.rows);
    case 'scoreRanker':
      return model.scoreRanker(call.features, call.n);
  }
}

try {
  const model = await loadModel(data.dir, data.options);
  port.on('message', async (m: ToModelWorker) => {
    if (m.type === 'close') {
      await model.close();
      port.close();
      return;
    }
    try {
      post({ type: 'done', id: m.id, values: await run(model, m) });
    } catch (err) {
      post({ type: 'failed', id: m.id, ...postedError(err) });
    }
  });
  const { modelVersion, dim, similarity, rankerFeatures, fileHashes, device } = model;
  post({ type: 'ready', info: { modelVersion, dim, similarity, rankerFeatures: [...rankerFeatures], fileHashes: { ...fileHashes }, device } });
} catch (err) {
  post({ type: 'failed', id: null, ...postedError(err) });
}
