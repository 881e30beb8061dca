/**
 * ONNX export of the starter towers and ranker, written with GraphBuilder.
 *
 * Tower (both sides):
 *   x = Σ over inputs of   table[id]                       (id, categorical)
 *                        | masked mean of table[ids]       (bag, history; id 0 is padding; or the
 *                                                           masked sum / √count, 'sqrtn')
 *                        | numeric · P                     (numeric, already standardised)
 *   h = relu(x·W1 + b1);  o = h·W2 + b2;  embedding = o / sqrt(Σ o² + L2_EPS)   (or o itself when the
 *   tower is not normalised: a 'dot' model's item tower, whose norm carries a per-item scale)
 *   A seed ensemble of M such towers outputs [e_1 … e_M] / √M (dim M × member dim).
 * Ranker: score = relu(features·W1 + b1)·w2 + b2, output 'score' float32 [N] (a logit).
 *
 * The trainer's forward pass (models/train/towerNet.ts) computes exactly this, so the exported
 * graph and the trainer agree to float rounding.
 */
import { GraphBuilder } from './onnx/builder.js';
import type { RankerSpec, TowerSpec } from './manifest.js';

/** Added under the square root of the L2 norm so that a zero vector does not divide by zero. */
export const L2_EPS = 1e-12;

export interface TowerWeights {
  /** Width of the summed input embeddings (E). */
  width: number;
  hidden: number;
  dim: number;
  /** L2-normalise the output (default true). */
  normalize?: boolean;
  /** Per bag/history input name: 'sqrtn' divides the sum by √count instead of count (default mean). */
  pooling?: Record<string, 'mean' | 'sqrtn'>;
  /** Per id/categorical/bag/history input name: (vocab size + 1) × width, row-major. */
  tables: Record<string, Float32Array>;
  /** Per numeric input name: columns × width. */
  projections: Record<string, Float32Array>;
  /** width × hidden */
  w1: Float32Array;
  b1: Float32Array;
  /** hidden × dim */
  w2: Float32Array;
  b2: Float32Array;
}

export interface RankerWeights {
  inputs: number;
  hidden: number;
  /** inputs × hidden */
  w1: Float32Array;
  b1: Float32Array;
  /** hidden */
  w2: Float32Array;
  b2: Float32Array;
}

/**
 * One tower's graph; given several members (a seed ensemble, models/train/towerEnsemble.ts), each
 * member's embedding is computed from the same inputs and the output is their concatenation times
 * 1/√members, so that user · item is the mean of the members' similarities.
 */
export function buildTowerOnnx(spec: TowerSpec, w: TowerWeights | readonly TowerWeights[], graphName: string): Uint8Array {
  const members: readonly TowerWeights[] = Array.isArray(w) ? w : [w as TowerWeights];
  if (members.length === 0) throw new RangeError(`${graphName}: an ensemble needs at least one member`);
  const g = new GraphBuilder(graphName);
  const consts: SharedConstants = {
    axis1: g.int64Tensor('axis_1', [1], [1]),
    axis2: g.int64Tensor('axis_2', [1], [2]),
    zeroId: g.int64Tensor('zero_id', [], [0]),
    one: g.floatTensor('one', [], [1]),
  };
  for (const inp of spec.inputs) g.input(inp.name, inp.dtype, inp.shape);
  if (members.length === 1) {
    // A single model keeps its weights' plain names (and the same bytes as before ensembles).
    memberEmbedding(g, spec, members[0], consts, '', spec.output.name);
  } else {
    const parts = members.map((m, k) => memberEmbedding(g, spec, m, consts, `m${k}.`));
    const scale = g.floatTensor('ensemble_scale', [], [1 / Math.sqrt(members.length)]);
    g.op('Mul', [g.op('Concat', parts, { axis: 1 }), scale], {}, spec.output.name);
  }
  g.output(spec.output.name, 'float32', spec.output.shape);
  return g.toBytes({ producer: 'twotower starter trainer', kind: graphName });
}

interface SharedConstants {
  axis1: string;
  axis2: string;
  zeroId: string;
  one: string;
}

/** Adds one member's tower (weights named with `prefix`) and returns its embedding's name. */
function memberEmbedding(g: GraphBuilder, spec: TowerSpec, w: TowerWeights, c: SharedConstants, prefix: string, outName?: string): string {
  const E = w.width;
  const parts: string[] = [];
  for (const inp of spec.inputs) {
    if (inp.kind === 'numeric') {
      const P = g.floatTensor(`${prefix}${inp.name}.proj`, [inp.columns.length, E], need(w.projections, inp.name));
      parts.push(g.op('MatMul', [inp.name, P]));
      continue;
    }
    const table = need(w.tables, inp.name);
    const T = g.floatTensor(`${prefix}${inp.name}.table`, [table.length / E, E], table);
    const gathered = g.op('Gather', [T, inp.name], { axis: 0 });
    if (inp.kind === 'id' || inp.kind === 'categorical') {
      parts.push(gathered);
      continue;
    }
    // Masked mean over the sequence axis; padding (id 0) neither adds nor counts.
    const mask = g.op('Cast', [g.op('Greater', [inp.name, c.zeroId])], { to: 1 });
    const masked = g.op('Mul', [gathered, g.op('Unsqueeze', [mask, c.axis2])]);
    const sum = g.op('ReduceSum', [masked, c.axis1], { keepdims: 0 });
    const count = g.op('Max', [g.op('ReduceSum', [mask, c.axis1], { keepdims: 1 }), c.one]);
    parts.push(g.op('Div', [sum, w.pooling?.[inp.name] === 'sqrtn' ? g.op('Sqrt', [count]) : count]));
  }
  const x = parts.length === 1 ? parts[0] : g.op('Sum', parts);
  const W1 = g.floatTensor(`${prefix}w1`, [E, w.hidden], w.w1);
  const B1 = g.floatTensor(`${prefix}b1`, [w.hidden], w.b1);
  const W2 = g.floatTensor(`${prefix}w2`, [w.hidden, w.dim], w.w2);
  const B2 = g.floatTensor(`${prefix}b2`, [w.dim], w.b2);
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, W1]), B1])]);
  if (w.normalize === false) return g.op('Add', [g.op('MatMul', [h, W2]), B2], {}, outName);
  const o = g.op('Add', [g.op('MatMul', [h, W2]), B2]);
  const ss = g.op('ReduceSumSquare', [o], { axes: [1], keepdims: 1 });
  const norm = g.op('Sqrt', [g.op('Add', [ss, g.floatTensor(`${prefix}l2_eps`, [], [L2_EPS])])]);
  return g.op('Div', [o, norm], {}, outName);
}

export function buildRankerOnnx(spec: RankerSpec, w: RankerWeights): Uint8Array {
  const g = new GraphBuilder('ranker');
  const x = g.input(spec.input.name, 'float32', spec.input.shape);
  const W1 = g.floatTensor('w1', [w.inputs, w.hidden], w.w1);
  const B1 = g.floatTensor('b1', [w.hidden], w.b1);
  const W2 = g.floatTensor('w2', [w.hidden, 1], w.w2);
  const B2 = g.floatTensor('b2', [1], w.b2);
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, W1]), B1])]);
  const s = g.op('Add', [g.op('MatMul', [h, W2]), B2]);
  const shape = g.int64Tensor('score_shape', [spec.output.shape.length], spec.output.shape.length === 1 ? [-1] : [-1, 1]);
  g.op('Reshape', [s, shape], {}, spec.output.name);
  g.output(spec.output.name, 'float32', spec.output.shape);
  return g.toBytes({ producer: 'twotower starter trainer', kind: 'ranker', features: spec.features.join(',') });
}

function need(rec: Record<string, Float32Array>, name: string): Float32Array {
  const t = rec[name];
  if (!t) throw new Error(`no weights for input '${name}'`);
  return t;
}
