/**
 * Worker thread: loads a model folder (loadModel: hashes, vocabularies, three onnxruntime
 * sessions, the smoke test) and runs its towers and ranker for the thread that started it.
 *
 * Why a thread: onnxruntime-node creates a session synchronously, and with the vocabularies and
 * the hashing, loading the 100k-item bench model held its thread for up to ~100 ms at a time. On
 * the ranker's HTTP thread that is a hot swap answering late; here it is no one's latency. The
 * user tower's encoding (vocabulary lookups) and run leave the HTTP thread with it.
 */
import { workerData } from 'node:worker_threads';
import { serveCalls } from '../shared/workers/serveCalls.js';
import { loadModel, type LoadedModel } from './model.js';
import type { ModelCall, ModelInfo, ModelWorkerData } from './modelWorkerProtocol.js';

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

await serveCalls<ModelCall, Float32Array, ModelInfo>(async () => {
  const model = await loadModel(data.dir, data.options);
  const { modelVersion, dim, similarity, rankerFeatures, fileHashes, device } = model;
  return {
    info: { modelVersion, dim, similarity, rankerFeatures: [...rankerFeatures], fileHashes: { ...fileHashes }, device },
    // onnxruntime's outputs are copied into the message: their memory may not be movable.
    answer: async (call) => ({ value: await run(model, call) }),
    release: () => model.close(),
  };
});
