/**
 * One step of the full-catalog objective as an onnxruntime graph: both towers' MLP heads forward
 * and backward and the softmax over every item, for one batch of users. The JavaScript side keeps
 * what is sparse (pooling table rows, their gradients, Adam); the dense products, which are most
 * of the work (items × width × hidden per step), run in onnxruntime's kernels.
 *
 * Inputs:  xi [N,E] pooled item inputs, xu [B,E] pooled user inputs, each tower's w1 [E,H],
 *          b1 [H], w2 [H,D], b2 [D], tgt [B,N] target weights, mask [B,N]
 *          (0, or -1e9 for items left out of a row's softmax), rowW [B,1] (the sum of the row's
 *          target weights: 0 for a row without targets), invT [1] (1 / temperature)
 * Either tower may skip the L2 normalisation (a 'dot' model's item tower).
 * Outputs: loss (mean over rows of -Σ tgt·log softmax), dxi [N,E], dxu [B,E], and the gradients
 *          of the eight head tensors, all of the same loss.
 * The forward pass is models/towers.ts's head; the backward pass is towerNet.ts's, written as ops.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { L2_EPS } from '../towers.js';

export interface HeadWeights {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

export interface FullStepResult {
  loss: number;
  dxi: Float32Array;
  dxu: Float32Array;
  item: HeadWeights;
  user: HeadWeights;
}

const HEAD_GRADS = ['gw1', 'gb1', 'gw2', 'gb2'] as const;

/** Which towers L2-normalise their output (i: item, u: user). */
export interface TowerNorms {
  i: boolean;
  u: boolean;
}

function buildGraph(E: number, H: number, D: number, norm: TowerNorms): Uint8Array {
  const g = new GraphBuilder('full_softmax_step');
  const axis0 = g.int64Tensor('axis0', [1], [0]);
  const axis1 = g.int64Tensor('axis1', [1], [1]);
  const eps = g.floatTensor('eps', [], [L2_EPS]);
  const zero = g.floatTensor('zero', [], [0]);
  g.input('xi', 'float32', ['n', E]);
  g.input('xu', 'float32', ['b', E]);
  for (const t of ['i', 'u']) {
    g.input(`${t}w1`, 'float32', [E, H]);
    g.input(`${t}b1`, 'float32', [H]);
    g.input(`${t}w2`, 'float32', [H, D]);
    g.input(`${t}b2`, 'float32', [D]);
  }
  g.input('tgt', 'float32', ['b', 'n']);
  g.input('mask', 'float32', ['b', 'n']);
  g.input('roww', 'float32', ['b', 1]);
  g.input('invt', 'float32', [1]);

  // Forward of one head: keeps what the backward pass needs.
  const head = (t: 'i' | 'u', x: string) => {
    const z = g.op('Add', [g.op('MatMul', [x, `${t}w1`]), `${t}b1`]);
    const h = g.op('Relu', [z]);
    const o = g.op('Add', [g.op('MatMul', [h, `${t}w2`]), `${t}b2`]);
    if (!norm[t]) return { z, h, y: o, norm: null };
    const n = g.op('Sqrt', [g.op('Add', [g.op('ReduceSumSquare', [o], { axes: [1], keepdims: 1 }), eps])]);
    return { z, h, y: g.op('Div', [o, n]), norm: n };
  };
  // Backward of one head given dY: writes its gradients and dX as graph outputs.
  const back = (t: string, x: string, f: ReturnType<typeof head>, dy: string, dxName: string) => {
    const dO = f.norm === null ? dy : g.op('Div', [g.op('Sub', [dy, g.op('Mul', [f.y, g.op('ReduceSum', [g.op('Mul', [f.y, dy]), axis1], { keepdims: 1 })])]), f.norm]);
    g.op('MatMul', [g.op('Transpose', [f.h], { perm: [1, 0] }), dO], {}, `${t}gw2`);
    g.op('ReduceSum', [dO, axis0], { keepdims: 0 }, `${t}gb2`);
    const live = g.op('Cast', [g.op('Greater', [f.z, zero])], { to: 1 });
    const dH = g.op('Mul', [g.op('MatMul', [dO, g.op('Transpose', [`${t}w2`], { perm: [1, 0] })]), live]);
    g.op('MatMul', [g.op('Transpose', [x], { perm: [1, 0] }), dH], {}, `${t}gw1`);
    g.op('ReduceSum', [dH, axis0], { keepdims: 0 }, `${t}gb1`);
    g.op('MatMul', [dH, g.op('Transpose', [`${t}w1`], { perm: [1, 0] })], {}, dxName);
  };

  const fi = head('i', 'xi');
  const fu = head('u', 'xu');
  const logits = g.op('Add', [g.op('Mul', [g.op('MatMul', [fu.y, g.op('Transpose', [fi.y], { perm: [1, 0] })]), 'invt']), 'mask']);
  const logp = g.op('LogSoftmax', [logits], { axis: 1 });
  const rows = g.op('Cast', [g.op('Shape', [logits], { start: 0, end: 1 })], { to: 1 });
  const perRow = g.op('ReduceSum', [g.op('Mul', ['tgt', logp]), axis1], { keepdims: 0 });
  g.op('Div', [g.op('Neg', [g.op('ReduceSum', [perRow, axis0], { keepdims: 0 })]), rows], {}, 'loss');
  // dLoss/dlogits = (softmax·Σtgt - tgt) / B, and the logits are similarity · invT.
  const scale = g.op('Div', ['invt', rows]);
  const G = g.op('Mul', [g.op('Sub', [g.op('Mul', [g.op('Exp', [logp]), 'roww']), 'tgt']), scale]);
  const dU = g.op('MatMul', [G, fi.y]);
  const dV = g.op('MatMul', [g.op('Transpose', [G], { perm: [1, 0] }), fu.y]);
  back('i', 'xi', fi, dV, 'dxi');
  back('u', 'xu', fu, dU, 'dxu');

  g.output('loss', 'float32', [1]);
  g.output('dxi', 'float32', ['n', E]);
  g.output('dxu', 'float32', ['b', E]);
  for (const t of ['i', 'u']) {
    g.output(`${t}gw1`, 'float32', [E, H]);
    g.output(`${t}gb1`, 'float32', [H]);
    g.output(`${t}gw2`, 'float32', [H, D]);
    g.output(`${t}gb2`, 'float32', [D]);
  }
  return g.toBytes({ producer: 'twotower trainer', kind: 'full_softmax_step' });
}

export class OnnxFullStep {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly E: number,
  ) {}

  static async create(E: number, H: number, D: number, norm: TowerNorms = { i: true, u: true }): Promise<OnnxFullStep> {
    const session = await ort.InferenceSession.create(buildGraph(E, H, D, norm), { graphOptimizationLevel: 'all' });
    return new OnnxFullStep(session, E);
  }

  async run(a: {
    xi: Float32Array;
    xu: Float32Array;
    N: number;
    B: number;
    item: HeadWeights;
    user: HeadWeights;
    tgt: Float32Array;
    mask: Float32Array;
    rowW: Float32Array;
    temperature: number;
  }): Promise<FullStepResult> {
    const { E } = this;
    const t = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', data, dims);
    const H = a.item.b1.length;
    const D = a.item.b2.length;
    const feeds: Record<string, ort.Tensor> = {
      xi: t(a.xi.subarray(0, a.N * E), [a.N, E]),
      xu: t(a.xu.subarray(0, a.B * E), [a.B, E]),
      tgt: t(a.tgt.subarray(0, a.B * a.N), [a.B, a.N]),
      mask: t(a.mask.subarray(0, a.B * a.N), [a.B, a.N]),
      roww: t(a.rowW.subarray(0, a.B), [a.B, 1]),
      invt: t(Float32Array.of(1 / a.temperature), [1]),
    };
    for (const [p, w] of [['i', a.item], ['u', a.user]] as const) {
      feeds[`${p}w1`] = t(w.w1, [E, H]);
      feeds[`${p}b1`] = t(w.b1, [H]);
      feeds[`${p}w2`] = t(w.w2, [H, D]);
      feeds[`${p}b2`] = t(w.b2, [D]);
    }
    const out = await this.session.run(feeds);
    const f = (name: string): Float32Array => out[name].data as Float32Array;
    const grads = (p: string): HeadWeights => {
      const [w1, b1, w2, b2] = HEAD_GRADS.map((k) => f(`${p}${k}`));
      return { w1, b1, w2, b2 };
    };
    return { loss: f('loss')[0], dxi: f('dxi'), dxu: f('dxu'), item: grads('i'), user: grads('u') };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
