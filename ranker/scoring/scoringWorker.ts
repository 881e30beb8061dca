/**
 * Worker thread: the features → score → order part of /v1/rank for one version, so that the
 * main thread, which the HTTP work alone keeps busy, only resolves ids, reads the candidates and
 * writes the answer. The item embeddings are the version's own memory (shared, and a WebAssembly
 * memory where they fit, which the worker's SIMD session kernel reads in place); the
 * ranker is its own onnxruntime session of the same file, refused if its sha256 differs from what
 * the main thread loaded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readModelManifest } from '../../models/manifest.js';
import { SessionDotKernel } from '../../shared/kernels/sessionDotKernel.js';
import { openCheckedSession, runRankerSession, sessionOptions } from '../../models/model.js';
import { packResults, unpackJobs, type FromWorker, type ScoringWorkerData, type ToWorker } from './protocol.js';
import { scoreJobs } from './scoreJobs.js';

const port = parentPort;
if (!port) throw new Error('scoringWorker must run in a worker thread');
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const data = workerData as ScoringWorkerData;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

try {
  const manifest = await readModelManifest(data.modelDir);
  const spec = manifest.ranker;
  // One thread: the ranker is small, and a pool of spinning threads would take the core the
  // main thread and the clients need.
  const session = await openCheckedSession(data.modelDir, spec.file, data.fileHashes, sessionOptions('cpu', 1));
  const run = (features: Float32Array, rows: number) => runRankerSession(session, spec, features, rows);
  const width = spec.features.length;
  const { tables } = data;
  const sessionDots = SessionDotKernel.over(tables.embeddingMemory, tables.dim, tables.itemIds.length);

  port.on('message', async (m: ToWorker) => {
    if (m.type === 'close') {
      await session.release();
      port.close();
      return;
    }
    try {
      const { results, runMs } = await scoreJobs(tables, unpackJobs(m.count, m.ints, m.floats), run, width, sessionDots);
      const packed = packResults(results);
      post({ type: 'scored', id: m.id, count: m.count, runMs, ...packed }, [packed.ints.buffer, packed.floats.buffer, packed.times.buffer] as ArrayBuffer[]);
    } catch (err) {
      post({ type: 'failed', id: m.id, message: errorText(err) });
    }
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', id: null, message: errorText(err) });
}
