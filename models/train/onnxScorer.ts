/**
 * Scores pooled users against pooled items through both towers' heads in onnxruntime: the
 * validation of every epoch (all catalog items × a few thousand users), which in plain
 * JavaScript would cost as much as the training itself.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { L2_EPS } from '../towers.js';
import type { HeadWeights, TowerNorms } from './onnxFullStep.js';

function buildGraph(E: number, H: number, D: number, norm: TowerNorms): Uint8Array {
  const g = new GraphBuilder('score_users_items');
  const eps = g.floatTensor('eps', [], [L2_EPS]);
  g.input('xi', 'float32', ['n', E]);
  g.input('xu', 'float32', ['b', E]);
  const head = (t: 'i' | 'u', x: string): string => {
    g.input(`${t}w1`, 'float32', [E, H]);
    g.input(`${t}b1`, 'float32', [H]);
    g.input(`${t}w2`, 'float32', [H, D]);
    g.input(`${t}b2`, 'float32', [D]);
    const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, `${t}w1`]), `${t}b1`])]);
    const o = g.op('Add', [g.op('MatMul', [h, `${t}w2`]), `${t}b2`]);
    if (!norm[t]) return o;
    return g.op('Div', [o, g.op('Sqrt', [g.op('Add', [g.op('ReduceSumSquare', [o], { axes: [1], keepdims: 1 }), eps])])]);
  };
  const v = head('i', 'xi');
  const u = head('u', 'xu');
  g.op('MatMul', [u, g.op('Transpose', [v], { perm: [1, 0] })], {}, 'scores');
  g.output('scores', 'float32', ['b', 'n']);
  return g.toBytes({ producer: 'twotower trainer', kind: 'score_users_items' });
}

export class OnnxScorer {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly E: number,
  ) {}

  static async create(E: number, H: number, D: number, norm: TowerNorms = { i: true, u: true }): Promise<OnnxScorer> {
    return new OnnxScorer(await ort.InferenceSession.create(buildGraph(E, H, D, norm), { graphOptimizationLevel: 'all' }), E);
  }

  /** B × N similarities of the pooled users xu against the pooled items xi. */
  async scores(xi: Float32Array, N: number, xu: Float32Array, B: number, item: HeadWeights, user: HeadWeights): Promise<Float32Array> {
    const { E } = this;
    const H = item.b1.length;
    const D = item.b2.length;
    const t = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor('float32', data, dims);
    const feeds: Record<string, ort.Tensor> = { xi: t(xi.subarray(0, N * E), [N, E]), xu: t(xu.subarray(0, B * E), [B, E]) };
    for (const [p, w] of [['i', item], ['u', user]] as const) {
      feeds[`${p}w1`] = t(w.w1, [E, H]);
      feeds[`${p}b1`] = t(w.b1, [H]);
      feeds[`${p}w2`] = t(w.w2, [H, D]);
      feeds[`${p}b2`] = t(w.b2, [D]);
    }
    const out = await this.session.run(feeds);
    return out.scores.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
