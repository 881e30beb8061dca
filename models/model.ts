/**
 * Loading a model folder into a TwoTowerModel: three onnxruntime sessions checked against the
 * manifest, the vocabularies, and the file hashes that index versions record.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { TwoTowerError } from '../shared/errors.js';
import { RANK_FEATURES } from '../shared/rankFeatures.js';
import type { ItemRow } from '../shared/data/types.js';
import { encodeItems, encodeUsers, toOrtFeeds, type EncodedInput } from './features.js';
import { MANIFEST_FILE, readModelManifest, type ModelManifest, type RankerSpec, type ShapeDim, type TensorSpec, type TowerSpec } from './manifest.js';
import { GraphBuilder } from './onnx/builder.js';
import type { TwoTowerModel, UserQuery } from './types.js';
import { parseVocabulary, type Vocab, type Vocabularies } from './vocab.js';

export type Device = 'cpu' | 'cuda';

export interface LoadModelOptions {
  /** 'auto' uses CUDA when this onnxruntime build can, else the CPU. Default 'cpu'. */
  device?: Device | 'auto';
  /** Threads per session for one operator; onnxruntime's default when absent. */
  intraOpThreads?: number;
}

/** A loaded model: the TwoTowerModel interface plus what was loaded and where it runs. */
export interface LoadedModel extends TwoTowerModel {
  readonly manifest: ModelManifest;
  readonly device: Device;
  /** The sha256 of each file read at load (manifest, vocabularies, graphs). */
  readonly fileHashes: Readonly<Record<string, string>>;
  readonly vocabs: Vocabularies;
  /** Runs a tower on inputs already encoded (features.ts or columnFeeds.ts) for n rows. */
  embedEncoded(tower: 'item' | 'user', inputs: readonly EncodedInput[], n: number): Promise<Float32Array>;
}

/** The session options every tower and ranker session gets, here and in the indexer's tower worker. */
export function sessionOptions(device: Device, intraOpThreads?: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
  };
}

export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const manifest = await readModelManifest(dir);
  const device = await chooseDevice(opts.device ?? 'cpu');

  const fileHashes: Record<string, string> = {};
  fileHashes[MANIFEST_FILE] = sha256(await readFile(join(dir, MANIFEST_FILE)));
  const readModelFile = async (file: string): Promise<Buffer> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, file));
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read (${(err as Error).message})`;
      throw new TwoTowerError('MODEL_CONTRACT', `${file}: ${why} in model folder ${dir}`, { file });
    }
    fileHashes[file] = sha256(bytes);
    return bytes;
  };

  const vocabs = new Map<string, Vocab>();
  for (const [name, ref] of Object.entries(manifest.vocabularies)) {
    vocabs.set(name, parseVocabulary((await readModelFile(ref.file)).toString('utf8'), name, ref));
  }

  const options = sessionOptions(device, opts.intraOpThreads);
  const sessions: ort.InferenceSession[] = [];
  const open = async (file: string): Promise<ort.InferenceSession> => {
    const bytes = await readModelFile(file);
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(bytes, options);
    } catch (err) {
      throw new TwoTowerError('MODEL_CONTRACT', `${file}: onnxruntime cannot load it (${firstLine(err)})`, { file });
    }
    sessions.push(s);
    return s;
  };

  try {
    const itemSession = await open(manifest.itemTower.file);
    checkTowerSession(itemSession, manifest.itemTower);
    const userSession = await open(manifest.userTower.file);
    checkTowerSession(userSession, manifest.userTower);
    const rankerSession = await open(manifest.ranker.file);
    checkSession(rankerSession, manifest.ranker.file, [manifest.ranker.input], manifest.ranker.output);
    checkRankerFeatures(manifest);

    const model = new OnnxTwoTowerModel(dir, manifest, device, fileHashes, vocabs, itemSession, userSession, rankerSession);
    await model.smokeTest();
    return model;
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
    throw err;
  }
}

class OnnxTwoTowerModel implements LoadedModel {
  readonly modelVersion: string;
  readonly dim: number;
  readonly similarity: 'dot' | 'cosine';
  readonly rankerFeatures: readonly string[];
  private closed = false;

  constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly device: Device,
    readonly fileHashes: Readonly<Record<string, string>>,
    readonly vocabs: Vocabularies,
    private readonly itemSession: ort.InferenceSession,
    private readonly userSession: ort.InferenceSession,
    private readonly rankerSession: ort.InferenceSession,
  ) {
    this.modelVersion = manifest.modelVersion;
    this.dim = manifest.embeddingDim;
    this.similarity = manifest.similarity;
    this.rankerFeatures = Object.freeze([...manifest.ranker.features]);
  }

  embedItems(rows: ItemRow[]): Promise<Float32Array> {
    return this.runTower(this.itemSession, this.manifest.itemTower, rows.length, () => encodeItems(this.manifest.itemTower, this.vocabs, rows));
  }

  embedUsers(queries: UserQuery[]): Promise<Float32Array> {
    return this.runTower(this.userSession, this.manifest.userTower, queries.length, () => encodeUsers(this.manifest.userTower, this.vocabs, queries));
  }

  embedEncoded(tower: 'item' | 'user', inputs: readonly EncodedInput[], n: number): Promise<Float32Array> {
    const [session, spec] = tower === 'item' ? [this.itemSession, this.manifest.itemTower] : [this.userSession, this.manifest.userTower];
    return this.runTower(session, spec, n, () => inputs);
  }

  async scoreRanker(features: Float32Array, n: number): Promise<Float32Array> {
    this.checkOpen();
    const F = this.rankerFeatures.length;
    if (!Number.isInteger(n) || n < 0 || features.length !== n * F)
      throw new TwoTowerError('BAD_INPUT', `scoreRanker: ${n} rows of ${F} features need ${n * F} values, got ${features.length}`);
    if (n === 0) return new Float32Array(0);
    return runRankerSession(this.rankerSession, this.manifest.ranker, features, n);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.itemSession.release(), this.userSession.release(), this.rankerSession.release()]);
  }

  /**
   * Runs each session once with the largest index of every vocabulary, so that a table smaller
   * than its vocabulary or an output of the wrong width fails at load, not on the first request.
   */
  async smokeTest(): Promise<void> {
    for (const spec of [this.manifest.itemTower, this.manifest.userTower]) {
      const session = spec === this.manifest.itemTower ? this.itemSession : this.userSession;
      const inputs: EncodedInput[] = spec.inputs.map((inp) => {
        const dims = inp.shape.map((d, i) => (i === 0 ? 2 : typeof d === 'number' ? d : 1));
        const size = dims.reduce((a, b) => a * b, 1);
        if (inp.dtype === 'float32') return { name: inp.name, dtype: 'float32', dims, data: new Float32Array(size) };
        const top = 'vocab' in inp ? (this.vocabs.get(inp.vocab)?.size ?? 0) : 0;
        const data = new Int32Array(size);
        data.fill(top, size / 2);
        return { name: inp.name, dtype: 'int64', dims, data };
      });
      try {
        await this.runTower(session, spec, 2, () => inputs);
      } catch (err) {
        if (err instanceof TwoTowerError && err.code === 'MODEL_CONTRACT') throw err;
        throw new TwoTowerError('MODEL_CONTRACT', `${spec.file}: a test run with the largest vocabulary indices failed (${firstLine(err)})`, { file: spec.file });
      }
    }
    try {
      await this.scoreRanker(new Float32Array(2 * this.rankerFeatures.length), 2);
    } catch (err) {
      if (err instanceof TwoTowerError && err.code === 'MODEL_CONTRACT') throw err;
      throw new TwoTowerError('MODEL_CONTRACT', `${this.manifest.ranker.file}: a test run failed (${firstLine(err)})`, { file: this.manifest.ranker.file });
    }
  }

  private async runTower(session: ort.InferenceSession, spec: TowerSpec, n: number, encode: () => readonly EncodedInput[]): Promise<Float32Array> {
    this.checkOpen();
    if (n === 0) return new Float32Array(0);
    return runTowerSession(session, spec, n * this.dim, encode());
  }

  private checkOpen(): void {
    if (this.closed) throw new TwoTowerError('INTERNAL', `model ${this.modelVersion} is closed`);
  }
}

/** One run of a tower session on encoded inputs; the output is checked against the manifest. */
export async function runTowerSession(session: ort.InferenceSession, spec: TowerSpec, values: number, inputs: readonly EncodedInput[]): Promise<Float32Array> {
  const out = await session.run(toOrtFeeds(inputs));
  return takeFloats(out[spec.output.name], values, spec.file, spec.output.name);
}

/**
 * A session of `file` in model folder `dir`, for a worker thread holding its own sessions of a
 * model the main thread loaded: refused (MODEL_CONTRACT) when the file's sha256 is not the one in
 * `fileHashes`, that is, when it changed on disk since.
 */
export async function openCheckedSession(dir: string, file: string, fileHashes: Readonly<Record<string, string>>, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const bytes = await readFile(join(dir, file));
  const hash = sha256(bytes);
  if (hash !== fileHashes[file]) throw new TwoTowerError('MODEL_CONTRACT', `${file}: changed since the model was loaded (sha256 ${hash.slice(0, 12)}…)`, { file });
  return ort.InferenceSession.create(bytes, options);
}

/**
 * One ranker run over n rows of features (n × ranker.features.length, row-major); one score per
 * row. Shared with the ranker's scoring worker, which holds its own session of the same file.
 */
export async function runRankerSession(session: ort.InferenceSession, spec: RankerSpec, features: Float32Array, n: number): Promise<Float32Array> {
  const out = await session.run({ [spec.input.name]: new ort.Tensor('float32', features, [n, spec.features.length]) });
  return takeFloats(out[spec.output.name], n, spec.file, spec.output.name);
}

function takeFloats(t: ort.OnnxValue | undefined, expected: number, file: string, name: string): Float32Array {
  if (!t || t.type !== 'float32')
    throw new TwoTowerError('MODEL_CONTRACT', `${file}: output '${name}' is ${t ? t.type : 'missing'}, manifest says float32`, { file });
  const data = t.data as Float32Array;
  if (data.length !== expected)
    throw new TwoTowerError('MODEL_CONTRACT', `${file}: output '${name}' has ${data.length} values [${t.dims.join(', ')}], expected ${expected}`, { file });
  return data;
}

function checkTowerSession(s: ort.InferenceSession, spec: TowerSpec): void {
  checkSession(s, spec.file, spec.inputs, spec.output);
}

/** Compares a session's inputs and output with the manifest; the first mismatch is thrown. */
function checkSession(s: ort.InferenceSession, file: string, inputs: readonly TensorSpec[], output: TensorSpec): void {
  const fail = (msg: string): never => {
    throw new TwoTowerError('MODEL_CONTRACT', `${file}: ${msg}`, { file });
  };
  const byName = new Map(s.inputMetadata.map((m) => [m.name, m]));
  for (const want of inputs) {
    const got = byName.get(want.name);
    if (!got) fail(`has no input '${want.name}' (manifest names it; the file has ${listNames(s.inputNames)})`);
    else compareTensor(got, want, `input '${want.name}'`, fail);
  }
  const wanted = new Set(inputs.map((i) => i.name));
  for (const name of s.inputNames) {
    if (!wanted.has(name)) fail(`input '${name}' is not in the manifest, so nothing would feed it`);
  }
  const out = s.outputMetadata.find((m) => m.name === output.name);
  if (!out) fail(`has no output '${output.name}' (the file has ${listNames(s.outputNames)})`);
  else compareTensor(out, output, `output '${output.name}'`, fail);
}

function compareTensor(got: ort.InferenceSession.ValueMetadata, want: TensorSpec, what: string, fail: (msg: string) => never): void {
  if (!got.isTensor) fail(`${what} is not a tensor, manifest says ${want.dtype}`);
  if (got.type !== want.dtype) fail(`${what} is ${got.type}, manifest says ${want.dtype}`);
  const shape = got.shape as readonly ShapeDim[];
  // An empty shape means the file declares none; onnxruntime then checks at run time.
  if (shape.length === 0) return;
  if (shape.length !== want.shape.length)
    fail(`${what} has rank ${shape.length} [${shape.join(', ')}], manifest says rank ${want.shape.length} [${want.shape.join(', ')}]`);
  for (let i = 0; i < shape.length; i++) {
    const g = shape[i];
    const w = want.shape[i];
    if (typeof g === 'number' && g > 0 && g !== w)
      fail(`${what} dimension ${i} is fixed to ${g} in the file, manifest says ${typeof w === 'number' ? w : `'${w}'`}`);
  }
}

function checkRankerFeatures(m: ModelManifest): void {
  const got = m.ranker.features;
  const ok = got.length === RANK_FEATURES.length && got.every((f, i) => f === RANK_FEATURES[i]);
  // The serving side computes exactly RANK_FEATURES in this order (shared/rankFeatures.ts).
  if (!ok)
    throw new TwoTowerError(
      'MODEL_CONTRACT',
      `${m.ranker.file}: ranker features [${got.join(', ')}] differ from the features this build computes [${RANK_FEATURES.join(', ')}]`,
      { file: m.ranker.file },
    );
}

let cudaProbe: Promise<string | null> | undefined;

/** Whether this onnxruntime build can open a CUDA session: null when it can, else why not. */
function probeCuda(): Promise<string | null> {
  cudaProbe ??= (async () => {
    if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) return 'this onnxruntime-node build lists no CUDA backend';
    // Looking for the provider library first spares a failing session creation, which onnxruntime
    // reports on stderr, on every CPU-only machine.
    const lib = cudaProviderLibrary();
    if (lib && !existsSync(lib)) return `the CUDA provider library ${lib} is not installed (onnxruntime-node's CUDA download was skipped)`;
    const g = new GraphBuilder('probe');
    g.input('x', 'float32', [1]);
    g.op('Relu', ['x'], {}, 'y');
    g.output('y', 'float32', [1]);
    try {
      const s = await ort.InferenceSession.create(g.toBytes(), { executionProviders: ['cuda'], logSeverityLevel: 4 });
      await s.release();
      return null;
    } catch (err) {
      return firstLine(err);
    }
  })();
  return cudaProbe;
}

/** Where onnxruntime-node looks for its CUDA provider library, or null when unknown. */
function cudaProviderLibrary(): string | null {
  try {
    const binding = createRequire(import.meta.url).resolve('onnxruntime-node');
    const dir = join(dirname(binding), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const name = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return join(dir, name);
  } catch {
    return null;
  }
}

async function chooseDevice(want: Device | 'auto'): Promise<Device> {
  if (want === 'cpu') return 'cpu';
  if (want !== 'cuda' && want !== 'auto') throw new TwoTowerError('BAD_INPUT', `device must be 'cpu', 'cuda' or 'auto', got '${String(want)}'`);
  const why = await probeCuda();
  if (why === null) return 'cuda';
  if (want === 'auto') return 'cpu';
  throw new TwoTowerError('BAD_INPUT', `device 'cuda' requested, but onnxruntime cannot use CUDA here: ${why} (use device 'cpu' or 'auto')`);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `'${n}'`).join(', ');
}
