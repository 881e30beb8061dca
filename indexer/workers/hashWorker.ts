/**
 * Worker thread: sha256 of one file. Hashing a multi-GB interactions file takes seconds of CPU;
 * here it overlaps with parsing the same files on the main thread instead of adding to it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerMessage } from './protocol.js';

const { file } = workerData as { file: string };
const hash = createHash('sha256');
createReadStream(file, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => hash.update(chunk as Buffer))
  .on('error', (err) => parentPort?.postMessage({ type: 'error', message: err.message } satisfies WorkerMessage))
  .on('end', () => parentPort?.postMessage({ type: 'done', count: 0, digest: hash.digest('hex') } satisfies WorkerMessage));
