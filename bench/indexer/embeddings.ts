/**
 * The inputs and both embedding matrices of a bench world, cached as raw float32 files next to it
 * (keyed by the model's version), so the HNSW and top-K measurements need not re-embed each run.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { embedCatalog, embedUsers, sharedMatrix } from '../../indexer/embedTables.js';
import { readIndexerInputs, type IndexerInputs } from '../../indexer/inputs.js';
import { loadModel } from '../../models/model.js';
import { cacheDir } from './paths.js';

export interface Embedded {
  inputs: IndexerInputs;
  dim: number;
  items: Float32Array;
  users: Float32Array;
}

export async function embedded(size: number, world: string, modelDir: string): Promise<Embedded> {
  const inputs = await readIndexerInputs(world);
  const model = await loadModel(modelDir, { intraOpThreads: 1 });
  const dir = cacheDir(size);
  const itemsFile = path.join(dir, `items-${model.modelVersion}.f32`);
  const usersFile = path.join(dir, `users-${model.modelVersion}.f32`);
  const dim = model.dim;
  try {
    if (existsSync(itemsFile) && existsSync(usersFile)) {
      return { inputs, dim, items: await readShared(itemsFile), users: await readShared(usersFile) };
    }
    const items = (await embedCatalog(inputs, model, 4096)).vectors;
    const users = await embedUsers(inputs, model, 4096);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(itemsFile, new Uint8Array(items.buffer));
    await fs.writeFile(usersFile, new Uint8Array(users.buffer));
    return { inputs, dim, items, users };
  } finally {
    await model.close();
  }
}

async function readShared(file: string): Promise<Float32Array> {
  const buf = await fs.readFile(file);
  const m = sharedMatrix(buf.byteLength / 4, 1);
  new Uint8Array(m.buffer).set(buf);
  return m;
}
