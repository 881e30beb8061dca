/**
 * Writes a trained model folder: the three ONNX files, the vocabularies and the manifest.
 * Everything goes to a sibling temporary folder first and is renamed into place, so a reader never
 * sees a half-written model and a failed export leaves the previous folder intact.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import { MANIFEST_FILE, MODEL_FORMAT, validateModelManifest, type ModelManifest, type RankerSpec, type TowerSpec, type TrainingInfo, type VocabRef } from '../manifest.js';
import { buildRankerOnnx, buildTowerOnnx, type RankerWeights, type TowerWeights } from '../towers.js';
import type { Vocab } from '../vocab.js';
import { RANKER_FILE } from './dataset.js';

export interface ModelParts {
  /** Embedding dimension of the exported towers (an ensemble's: its members' summed). */
  dim: number;
  itemSpec: TowerSpec;
  userSpec: TowerSpec;
  /** One model's towers, or a seed ensemble's members (models/train/towerEnsemble.ts). */
  itemWeights: TowerWeights | readonly TowerWeights[];
  userWeights: TowerWeights | readonly TowerWeights[];
  rankerWeights: RankerWeights;
  vocabs: ReadonlyMap<string, Vocab>;
  /** 'cosine' when both towers are L2-normalised (default), 'dot' otherwise. */
  similarity?: 'dot' | 'cosine';
  training?: TrainingInfo;
}

export function rankerSpec(): RankerSpec {
  return {
    file: RANKER_FILE,
    features: [...RANK_FEATURES],
    input: { name: 'features', dtype: 'float32', shape: ['batch', RANK_FEATURES.length] },
    output: { name: 'score', dtype: 'float32', shape: ['batch'] },
  };
}

/** Writes the folder and returns its manifest. */
export async function writeModelFolder(outDir: string, parts: ModelParts): Promise<ModelManifest> {
  const files = new Map<string, Uint8Array>();
  const ranker = rankerSpec();
  // The towers' output width is the exported embedding's (an ensemble's is its members' summed).
  const withDim = (spec: TowerSpec): TowerSpec => ({ ...spec, output: { ...spec.output, shape: [spec.output.shape[0], parts.dim] } });
  const itemSpec = withDim(parts.itemSpec);
  const userSpec = withDim(parts.userSpec);
  files.set(itemSpec.file, buildTowerOnnx(itemSpec, parts.itemWeights, 'item_tower'));
  files.set(userSpec.file, buildTowerOnnx(userSpec, parts.userWeights, 'user_tower'));
  files.set(ranker.file, buildRankerOnnx(ranker, parts.rankerWeights));
  const vocabularies: Record<string, VocabRef> = {};
  for (const [name, vocab] of parts.vocabs) {
    const file = vocabFileName(name, files);
    files.set(file, Buffer.from(JSON.stringify(vocab.values)));
    vocabularies[name] = { file, size: vocab.size };
  }

  // The version names the content (weights and vocabularies), so retraining with the same data
  // and seed yields the same version.
  const h = createHash('sha256');
  for (const name of [...files.keys()].sort()) h.update(name).update('\0').update(createHash('sha256').update(files.get(name)!).digest('hex')).update('\n');
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    modelVersion: 'm-' + h.digest('hex').slice(0, 12),
    createdAt: new Date().toISOString(),
    embeddingDim: parts.dim,
    similarity: parts.similarity ?? ([parts.itemWeights, parts.userWeights].flat().some((w) => w.normalize === false) ? 'dot' : 'cosine'),
    vocabularies,
    itemTower: itemSpec,
    userTower: userSpec,
    ranker,
    ...(parts.training ? { training: parts.training } : {}),
  };
  validateModelManifest(manifest);
  files.set(MANIFEST_FILE, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));

  const parent = dirname(outDir);
  const tmp = join(parent, `.${basename(outDir)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(outDir)}.old-${process.pid}`);
  await mkdir(parent, { recursive: true });
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    for (const [name, bytes] of files) await writeFile(join(tmp, name), bytes);
    // rename() cannot replace a non-empty directory: move the old one aside first.
    await rm(old, { recursive: true, force: true });
    let hadOld = true;
    try {
      await rename(outDir, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      hadOld = false;
    }
    await rename(tmp, outDir);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

function vocabFileName(name: string, taken: ReadonlyMap<string, unknown>): string {
  const base = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  let file = `${base}.vocab.json`;
  for (let k = 2; taken.has(file); k++) file = `${base}.${k}.vocab.json`;
  return file;
}
