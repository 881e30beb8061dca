/**
 * The model contract on disk.
 *
 * A model folder holds `manifest.json`, `user_tower.onnx`, `item_tower.onnx`, `ranker.onnx` and
 * the vocabulary files the manifest names. Vocabularies live in their own files so that a
 * catalog of a million items does not bloat the manifest that every tool reads first.
 *
 * Vocabulary file: a JSON array of strings. The value at array position i has index i + 1;
 * index 0 is reserved for "unknown" (a single-id input) or "padding" (a bag or a history), so a
 * tower's table for a vocabulary of size n has n + 1 rows.
 *
 * Tower inputs, by kind (N = batch):
 *   id           int64 [N]     column 'item_id' | 'user_id'; vocabulary index, 0 = unknown
 *   categorical  int64 [N]     column 'category' (items) or a key of UserRow.categorical
 *   bag          int64 [N, L]  column 'tags': vocabulary indices, unknown values skipped, the first
 *                              L kept, left-aligned and zero-padded (the tower mean-pools non-zero ids)
 *   numeric      float32 [N, F] columns = keys of ItemRow/UserRow.numeric, standardised with the stored
 *                              mean/std; a missing or non-finite value becomes 0 (the mean)
 *   history      int64 [N, H]  user tower only: item-vocabulary indices of the user's most recent H
 *                              known items, oldest first and most recent last, left-aligned, zero-padded
 * Each tower has one output, 'embedding' float32 [N, embeddingDim]; with similarity 'cosine' the
 * outputs are L2-normalised, so a dot product is the cosine.
 * The ranker has one input 'features' float32 [N, F] (columns in `ranker.features` order) and one
 * output 'score' float32 [N] (a logit: higher is better; only the order matters).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TwoTowerError } from '../shared/errors.js';

export const MODEL_FORMAT = 'twotower-model/1';
export const MANIFEST_FILE = 'manifest.json';

export type TensorDtype = 'int64' | 'float32';
/** A dimension: a fixed size or a symbolic name such as 'batch'. */
export type ShapeDim = number | string;

interface InputBase {
  /** The ONNX input name. */
  name: string;
  dtype: TensorDtype;
  shape: ShapeDim[];
}

export interface IdInput extends InputBase {
  kind: 'id';
  dtype: 'int64';
  column: 'item_id' | 'user_id';
  vocab: string;
}

export interface CategoricalInput extends InputBase {
  kind: 'categorical';
  dtype: 'int64';
  column: string;
  vocab: string;
}

export interface BagInput extends InputBase {
  kind: 'bag';
  dtype: 'int64';
  column: 'tags';
  vocab: string;
  maxLength: number;
}

export interface NumericInput extends InputBase {
  kind: 'numeric';
  dtype: 'float32';
  columns: string[];
  mean: number[];
  std: number[];
}

export interface HistoryInput extends InputBase {
  kind: 'history';
  dtype: 'int64';
  /** The item vocabulary the history ids index into. */
  vocab: string;
  maxLength: number;
}

export type TowerInput = IdInput | CategoricalInput | BagInput | NumericInput | HistoryInput;

export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  shape: ShapeDim[];
}

export interface TowerSpec {
  file: string;
  inputs: TowerInput[];
  output: TensorSpec;
}

export interface RankerSpec {
  file: string;
  /** Feature names, in the order of the columns of the 'features' input. */
  features: string[];
  input: TensorSpec;
  output: TensorSpec;
}

export interface VocabRef {
  file: string;
  /** Number of values; index 0 is extra (unknown/padding). */
  size: number;
}

export interface TrainingInfo {
  params: Record<string, number | string | boolean>;
  seed: number;
  epochs: { epoch: number; loss: number; recallAt10: number; ms: number }[];
  bestEpoch: number;
  validation: Record<string, number>;
  timingsMs: Record<string, number>;
  counts: Record<string, number>;
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  modelVersion: string;
  createdAt: string;
  embeddingDim: number;
  similarity: 'dot' | 'cosine';
  vocabularies: Record<string, VocabRef>;
  itemTower: TowerSpec;
  userTower: TowerSpec;
  ranker: RankerSpec;
  /** Present for models made by the starter trainer; other producers may omit it. */
  training?: TrainingInfo;
}

const ITEM_KINDS = new Set(['id', 'categorical', 'bag', 'numeric']);
const USER_KINDS = new Set(['id', 'categorical', 'numeric', 'history']);

/** Reads and validates `dir/manifest.json`; throws MODEL_CONTRACT naming the bad field. */
export async function readModelManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TwoTowerError('MODEL_CONTRACT', `${path}: cannot read the model manifest (${(err as Error).message})`, { file: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new TwoTowerError('MODEL_CONTRACT', `${path}: not valid JSON (${(err as Error).message})`, { file: path });
  }
  return validateModelManifest(raw, path);
}

/** Validates a parsed manifest; `where` prefixes every message (usually the file path). */
export function validateModelManifest(raw: unknown, where = MANIFEST_FILE): ModelManifest {
  const v = new Checker(where);
  const m = v.object(raw, '');
  v.literal(m.format, 'format', MODEL_FORMAT);
  v.string(m.modelVersion, 'modelVersion');
  v.string(m.createdAt, 'createdAt');
  const dim = v.positiveInt(m.embeddingDim, 'embeddingDim');
  v.oneOf(m.similarity, 'similarity', ['dot', 'cosine']);

  const vocabs = v.object(m.vocabularies, 'vocabularies');
  for (const [name, ref] of Object.entries(vocabs)) {
    const r = v.object(ref, `vocabularies.${name}`);
    v.fileName(r.file, `vocabularies.${name}.file`);
    v.nonNegativeInt(r.size, `vocabularies.${name}.size`);
  }
  const vocabNames = new Set(Object.keys(vocabs));
  checkTower(v, m.itemTower, 'itemTower', ITEM_KINDS, vocabNames, dim);
  checkTower(v, m.userTower, 'userTower', USER_KINDS, vocabNames, dim);

  const r = v.object(m.ranker, 'ranker');
  v.fileName(r.file, 'ranker.file');
  const features = v.array(r.features, 'ranker.features');
  if (features.length === 0) v.fail('ranker.features', 'must name at least one feature');
  features.forEach((f, i) => v.string(f, `ranker.features[${i}]`));
  const rin = checkTensor(v, r.input, 'ranker.input');
  if (rin.dtype !== 'float32' || rin.shape.length !== 2) v.fail('ranker.input', `must be float32 [batch, ${features.length}]`);
  if (typeof rin.shape[1] === 'number' && rin.shape[1] !== features.length)
    v.fail('ranker.input.shape', `has ${rin.shape[1]} columns but ranker.features names ${features.length}`);
  const rout = checkTensor(v, r.output, 'ranker.output');
  if (rout.dtype !== 'float32' || rout.shape.length < 1 || rout.shape.length > 2) v.fail('ranker.output', 'must be float32 [batch] or [batch, 1]');

  const files = [
    (m.itemTower as TowerSpec).file,
    (m.userTower as TowerSpec).file,
    r.file as string,
    ...Object.values(vocabs).map((x) => (x as VocabRef).file),
  ];
  const seen = new Set<string>();
  for (const f of files) {
    if (f === MANIFEST_FILE || seen.has(f)) v.fail('files', `file '${f}' is named twice`);
    seen.add(f);
  }
  if (m.training !== undefined) v.object(m.training, 'training');
  return raw as ModelManifest;
}

function checkTower(v: Checker, raw: unknown, at: string, kinds: Set<string>, vocabs: Set<string>, dim: number): void {
  const t = v.object(raw, at);
  v.fileName(t.file, `${at}.file`);
  const inputs = v.array(t.inputs, `${at}.inputs`);
  if (inputs.length === 0) v.fail(`${at}.inputs`, 'must list at least one input');
  const names = new Set<string>();
  inputs.forEach((x, i) => {
    const p = `${at}.inputs[${i}]`;
    const inp = checkTensor(v, x, p);
    if (names.has(inp.name)) v.fail(`${p}.name`, `input '${inp.name}' is listed twice`);
    names.add(inp.name);
    const o = x as Record<string, unknown>;
    const kind = v.oneOf(o.kind, `${p}.kind`, [...kinds]);
    const wantDtype = kind === 'numeric' ? 'float32' : 'int64';
    if (inp.dtype !== wantDtype) v.fail(`${p}.dtype`, `a '${kind}' input must be ${wantDtype}, got ${inp.dtype}`);
    const rank = kind === 'id' || kind === 'categorical' ? 1 : 2;
    if (inp.shape.length !== rank) v.fail(`${p}.shape`, `a '${kind}' input must have rank ${rank}, got [${inp.shape.join(', ')}]`);
    if (kind !== 'numeric') {
      const vocab = v.string(o.vocab, `${p}.vocab`);
      if (!vocabs.has(vocab)) v.fail(`${p}.vocab`, `names vocabulary '${vocab}', which is not in vocabularies`);
    }
    if (kind === 'id') v.oneOf(o.column, `${p}.column`, [at === 'itemTower' ? 'item_id' : 'user_id']);
    if (kind === 'categorical') {
      const col = v.string(o.column, `${p}.column`);
      if (at === 'itemTower' && col !== 'category') v.fail(`${p}.column`, `an item categorical input reads 'category', got '${col}'`);
    }
    if (kind === 'bag') v.oneOf(o.column, `${p}.column`, ['tags']);
    if (kind === 'bag' || kind === 'history') {
      const len = v.positiveInt(o.maxLength, `${p}.maxLength`);
      if (inp.shape[1] !== len) v.fail(`${p}.shape`, `second dimension must equal maxLength ${len}`);
    }
    if (kind === 'numeric') {
      const cols = v.array(o.columns, `${p}.columns`);
      cols.forEach((c, j) => v.string(c, `${p}.columns[${j}]`));
      const mean = v.array(o.mean, `${p}.mean`);
      const std = v.array(o.std, `${p}.std`);
      if (mean.length !== cols.length || std.length !== cols.length) v.fail(p, `columns, mean and std must have the same length`);
      mean.forEach((x2, j) => v.finite(x2, `${p}.mean[${j}]`));
      std.forEach((x2, j) => {
        if (v.finite(x2, `${p}.std[${j}]`) <= 0) v.fail(`${p}.std[${j}]`, 'must be > 0');
      });
      if (inp.shape[1] !== cols.length) v.fail(`${p}.shape`, `second dimension must equal the number of columns (${cols.length})`);
    }
  });
  const out = checkTensor(v, t.output, `${at}.output`);
  if (out.dtype !== 'float32' || out.shape.length !== 2) v.fail(`${at}.output`, `must be float32 [batch, ${dim}]`);
  if (out.shape[1] !== dim) v.fail(`${at}.output.shape`, `second dimension must equal embeddingDim ${dim}, got ${out.shape[1]}`);
}

function checkTensor(v: Checker, raw: unknown, at: string): TensorSpec {
  const t = v.object(raw, at);
  v.string(t.name, `${at}.name`);
  v.oneOf(t.dtype, `${at}.dtype`, ['int64', 'float32']);
  const shape = v.array(t.shape, `${at}.shape`);
  shape.forEach((d, i) => {
    if (!(typeof d === 'string' && d.length > 0) && !(Number.isInteger(d) && (d as number) > 0))
      v.fail(`${at}.shape[${i}]`, `must be a positive integer or a symbolic name, got ${JSON.stringify(d)}`);
  });
  return t as unknown as TensorSpec;
}

/** Small structural checker whose every failure names the field. */
class Checker {
  constructor(private readonly where: string) {}

  fail(field: string, problem: string): never {
    throw new TwoTowerError('MODEL_CONTRACT', `${this.where}: field '${field || '(root)'}' ${problem}`, { file: this.where, field });
  }

  object(x: unknown, at: string): Record<string, unknown> {
    if (x === undefined) this.fail(at, 'is missing');
    if (typeof x !== 'object' || x === null || Array.isArray(x)) this.fail(at, `must be an object, got ${describe(x)}`);
    return x as Record<string, unknown>;
  }

  array(x: unknown, at: string): unknown[] {
    if (x === undefined) this.fail(at, 'is missing');
    if (!Array.isArray(x)) this.fail(at, `must be an array, got ${describe(x)}`);
    return x;
  }

  string(x: unknown, at: string): string {
    if (x === undefined) this.fail(at, 'is missing');
    if (typeof x !== 'string' || x.length === 0) this.fail(at, `must be a non-empty string, got ${describe(x)}`);
    return x;
  }

  fileName(x: unknown, at: string): string {
    const s = this.string(x, at);
    // Files are resolved inside the model folder; a path would let a manifest reach outside it.
    if (s.includes('/') || s.includes('\\') || s === '.' || s === '..') this.fail(at, `must be a plain file name, got '${s}'`);
    return s;
  }

  literal(x: unknown, at: string, want: string): void {
    if (x === undefined) this.fail(at, 'is missing');
    if (x !== want) this.fail(at, `must be '${want}', got ${describe(x)}`);
  }

  oneOf(x: unknown, at: string, allowed: string[]): string {
    if (x === undefined) this.fail(at, 'is missing');
    if (typeof x !== 'string' || !allowed.includes(x)) this.fail(at, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(x)}`);
    return x;
  }

  finite(x: unknown, at: string): number {
    if (x === undefined) this.fail(at, 'is missing');
    if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(at, `must be a finite number, got ${describe(x)}`);
    return x;
  }

  positiveInt(x: unknown, at: string): number {
    const n = this.finite(x, at);
    if (!Number.isInteger(n) || n <= 0) this.fail(at, `must be a positive integer, got ${n}`);
    return n;
  }

  nonNegativeInt(x: unknown, at: string): number {
    const n = this.finite(x, at);
    if (!Number.isInteger(n) || n < 0) this.fail(at, `must be a non-negative integer, got ${n}`);
    return n;
  }
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return `'${x.length > 40 ? x.slice(0, 40) + '…' : x}'`;
  if (typeof x === 'object') return 'an object';
  return String(x);
}

/** Names of every file the manifest references (ONNX files and vocabularies). */
export function referencedFiles(m: ModelManifest): string[] {
  return [m.itemTower.file, m.userTower.file, m.ranker.file, ...Object.values(m.vocabularies).map((r) => r.file)];
}
