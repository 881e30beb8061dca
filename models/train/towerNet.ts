/**
 * One tower of the starter model with hand-written forward and backward passes (the same network
 * models/towers.ts exports to ONNX):
 *   x = Σ slots (table row | masked mean of table rows | numeric · P)
 *   y = l2normalise(relu(x·W1 + b1)·W2 + b2)      (without the normalisation for a 'dot' item tower)
 * Embedding tables get sparse updates: only rows touched by the batch are updated (lazy Adam, the
 * moments of untouched rows stay as they are), so an epoch costs O(pairs), not O(catalog).
 */
import type { Random } from '../../shared/data/random.js';
import type { TowerSpec } from '../manifest.js';
import { L2_EPS, type TowerWeights } from '../towers.js';
import { ADAM_B1, ADAM_B2, ADAM_EPS, Adam, matmul, matmulATAcc, matmulBT } from './dense.js';

export interface SlotSpec {
  /** The ONNX input this slot becomes. */
  name: string;
  /** single: one index per row; bag: `len` indices per row, 0 = padding; numeric: `len` floats per row. */
  kind: 'single' | 'bag' | 'numeric';
  len: number;
  /** Table rows (vocabulary size + 1); numeric slots: 0. */
  rows: number;
  /**
   * How a bag combines its rows: 'mean' (default) or 'sqrtn' (sum / √count), which keeps the
   * pooled vector's scale from shrinking as a user's history grows.
   */
  pooling?: BagPooling;
}

export type BagPooling = 'mean' | 'sqrtn';

/** Per-slot batch data: Int32Array indices (single, bag) or Float32Array values (numeric). */
export type SlotData = Int32Array | Float32Array;

export function slotsOf(spec: TowerSpec, vocabSize: (vocab: string) => number, historyPooling: BagPooling = 'mean'): SlotSpec[] {
  return spec.inputs.map((inp): SlotSpec => {
    switch (inp.kind) {
      case 'id':
      case 'categorical':
        return { name: inp.name, kind: 'single', len: 1, rows: vocabSize(inp.vocab) + 1 };
      case 'bag':
        return { name: inp.name, kind: 'bag', len: inp.maxLength, rows: vocabSize(inp.vocab) + 1 };
      case 'history':
        return { name: inp.name, kind: 'bag', len: inp.maxLength, rows: vocabSize(inp.vocab) + 1, pooling: historyPooling };
      case 'numeric':
        return { name: inp.name, kind: 'numeric', len: inp.columns.length, rows: 0 };
    }
  });
}

/** Gradient rows of one embedding table touched in the current batch. */
class SparseRows {
  readonly rowSlot: Int32Array;
  touched = new Int32Array(0);
  grad = new Float32Array(0);
  count = 0;
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Rows that have had at least one update. */
  readonly trained: Uint8Array;

  constructor(
    rows: number,
    private readonly width: number,
  ) {
    this.rowSlot = new Int32Array(rows).fill(-1);
    this.m = new Float32Array(rows * width);
    this.v = new Float32Array(rows * width);
    this.trained = new Uint8Array(rows);
  }

  ensure(cap: number): void {
    if (this.touched.length >= cap) return;
    // Gradients of rows touched earlier in this step must survive the growth.
    const touched = new Int32Array(cap);
    touched.set(this.touched.subarray(0, this.count));
    const grad = new Float32Array(cap * this.width);
    grad.set(this.grad.subarray(0, this.count * this.width));
    this.touched = touched;
    this.grad = grad;
  }

  /** Offset of row r's gradient in `grad`, allocating a slot on first touch. */
  slot(r: number): number {
    let s = this.rowSlot[r];
    if (s < 0) {
      s = this.count++;
      this.rowSlot[r] = s;
      this.touched[s] = r;
    }
    return s * this.width;
  }
}

export interface TowerSizes {
  width: number;
  hidden: number;
  dim: number;
  /** L2-normalise the output (default true); false leaves the norm free to carry a per-row scale. */
  normalize?: boolean;
}

export class TowerNet {
  readonly E: number;
  readonly H: number;
  readonly D: number;
  readonly normalize: boolean;
  /** Per slot: the embedding table (rows × E) or, for numeric slots, the projection (len × E). */
  readonly tables: Float32Array[];
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;

  private readonly sparse: (SparseRows | null)[];
  private readonly dense: Adam[];
  private readonly gW1: Float32Array;
  private readonly gB1: Float32Array;
  private readonly gW2: Float32Array;
  private readonly gB2: Float32Array;
  private readonly gProj: (Float32Array | null)[];

  // Activations of the last forward pass, kept for backward.
  private cap = 0;
  private X = new Float32Array(0);
  private Hh = new Float32Array(0);
  private O = new Float32Array(0);
  private Y = new Float32Array(0);
  private invNorm = new Float32Array(0);
  private dO = new Float32Array(0);
  private dH = new Float32Array(0);
  private dX = new Float32Array(0);
  private inputs: SlotData[] = [];
  private batch = 0;

  constructor(
    readonly slots: readonly SlotSpec[],
    sizes: TowerSizes,
    rng: Random,
  ) {
    this.E = sizes.width;
    this.H = sizes.hidden;
    this.D = sizes.dim;
    this.normalize = sizes.normalize ?? true;
    const { E, H, D } = this;
    // Small random tables: the summed input starts near zero and the MLP's He init sets the scale.
    this.tables = slots.map((s) =>
      s.kind === 'numeric' ? randn(rng, s.len * E, 0.1 / Math.sqrt(Math.max(1, s.len))) : randn(rng, s.rows * E, 0.1),
    );
    for (let i = 0; i < slots.length; i++) {
      // Row 0 of a bag table is padding: never read through the mask, kept at zero for clarity.
      if (slots[i].kind === 'bag') this.tables[i].fill(0, 0, E);
    }
    this.w1 = randn(rng, E * H, Math.sqrt(2 / E));
    this.b1 = new Float32Array(H);
    this.w2 = randn(rng, H * D, Math.sqrt(1 / H));
    this.b2 = new Float32Array(D);
    this.gW1 = new Float32Array(E * H);
    this.gB1 = new Float32Array(H);
    this.gW2 = new Float32Array(H * D);
    this.gB2 = new Float32Array(D);
    this.gProj = slots.map((s, i) => (s.kind === 'numeric' ? new Float32Array(this.tables[i].length) : null));
    this.sparse = slots.map((s) => (s.kind === 'numeric' ? null : new SparseRows(s.rows, E)));
    this.dense = [new Adam(this.w1, this.gW1), new Adam(this.b1, this.gB1), new Adam(this.w2, this.gW2), new Adam(this.b2, this.gB2)];
    slots.forEach((s, i) => {
      const g = this.gProj[i];
      if (g) this.dense.push(new Adam(this.tables[i], g));
    });
  }

  private ensure(B: number): void {
    if (B <= this.cap) return;
    const { E, H, D } = this;
    this.cap = B;
    this.X = new Float32Array(B * E);
    this.Hh = new Float32Array(B * H);
    this.O = new Float32Array(B * D);
    this.Y = new Float32Array(B * D);
    this.invNorm = new Float32Array(B);
    this.dO = new Float32Array(B * D);
    this.dH = new Float32Array(B * H);
    this.dX = new Float32Array(B * E);
  }

  /**
   * Forward pass over B rows; returns B × D normalised embeddings (a view into a buffer that the
   * next forward call overwrites).
   */
  forward(inputs: SlotData[], B: number): Float32Array {
    this.pool(inputs, B);
    return this.forwardHead(B);
  }

  /**
   * The input layer: the sum over slots of table rows, bag means and numeric projections, B × E
   * (a view kept for backwardPool). The MLP head runs on it here (forwardHead) or in onnxruntime.
   */
  pool(inputs: SlotData[], B: number): Float32Array {
    this.ensure(B);
    const { E, X } = this;
    this.inputs = inputs;
    this.batch = B;
    X.fill(0, 0, B * E);
    for (let s = 0; s < this.slots.length; s++) {
      const slot = this.slots[s];
      const T = this.tables[s];
      if (slot.kind === 'numeric') {
        matmul(inputs[s] as Float32Array, T, X, B, slot.len, E, true);
        continue;
      }
      const idx = inputs[s] as Int32Array;
      const L = slot.len;
      for (let i = 0; i < B; i++) {
        const xi = i * E;
        if (slot.kind === 'single') {
          const t = idx[i] * E;
          for (let e = 0; e < E; e++) X[xi + e] += T[t + e];
          continue;
        }
        let count = 0;
        for (let l = 0; l < L; l++) if (idx[i * L + l] > 0) count++;
        if (count === 0) continue;
        const w = slot.pooling === 'sqrtn' ? 1 / Math.sqrt(count) : 1 / count;
        for (let l = 0; l < L; l++) {
          const id = idx[i * L + l];
          if (id <= 0) continue;
          const t = id * E;
          for (let e = 0; e < E; e++) X[xi + e] += w * T[t + e];
        }
      }
    }
    return X.subarray(0, B * E);
  }

  /** The MLP head and the L2 normalisation over the pooled rows of the last pool call. */
  forwardHead(B: number): Float32Array {
    const { E, H, D, X } = this;
    const { Hh, O, Y, invNorm } = this;
    matmul(X, this.w1, Hh, B, E, H);
    for (let i = 0; i < B; i++) {
      for (let h = 0; h < H; h++) {
        const z = Hh[i * H + h] + this.b1[h];
        Hh[i * H + h] = z > 0 ? z : 0;
      }
    }
    matmul(Hh, this.w2, O, B, H, D);
    for (let i = 0; i < B; i++) {
      let ss = 0;
      for (let d = 0; d < D; d++) {
        const o = O[i * D + d] + this.b2[d];
        O[i * D + d] = o;
        ss += o * o;
      }
      const inv = this.normalize ? 1 / Math.sqrt(ss + L2_EPS) : 1;
      invNorm[i] = inv;
      for (let d = 0; d < D; d++) Y[i * D + d] = O[i * D + d] * inv;
    }
    return Y.subarray(0, B * D);
  }

  /** Backward pass for the last forward call: accumulates gradients of all parameters. */
  backward(dY: Float32Array): void {
    const B = this.batch;
    const { E, H, D, Y, invNorm, dO, dH, dX, Hh, X } = this;
    for (let i = 0; i < B; i++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += Y[i * D + d] * dY[i * D + d];
      const inv = invNorm[i];
      if (!this.normalize) {
        dO.set(dY.subarray(i * D, (i + 1) * D), i * D);
        continue;
      }
      for (let d = 0; d < D; d++) dO[i * D + d] = (dY[i * D + d] - Y[i * D + d] * dot) * inv;
    }
    matmulATAcc(Hh, dO, this.gW2, B, H, D);
    for (let i = 0; i < B; i++) for (let d = 0; d < D; d++) this.gB2[d] += dO[i * D + d];
    matmulBT(dO, this.w2, dH, B, D, H);
    for (let i = 0; i < B * H; i++) if (Hh[i] <= 0) dH[i] = 0;
    matmulATAcc(X, dH, this.gW1, B, E, H);
    for (let i = 0; i < B; i++) for (let h = 0; h < H; h++) this.gB1[h] += dH[i * H + h];
    matmulBT(dH, this.w1, dX, B, H, E);
    this.backwardPool(dX);
  }

  /**
   * Backward through the input layer given dLoss/dX (B × E) of the last pool call: sparse
   * gradients of the table rows it read, dense ones of the numeric projections.
   */
  backwardPool(dX: Float32Array): void {
    const B = this.batch;
    const E = this.E;
    for (let s = 0; s < this.slots.length; s++) {
      const slot = this.slots[s];
      const input = this.inputs[s];
      if (slot.kind === 'numeric') {
        matmulATAcc(input as Float32Array, dX, this.gProj[s]!, B, slot.len, E);
        continue;
      }
      const idx = input as Int32Array;
      const sp = this.sparse[s]!;
      const L = slot.len;
      sp.ensure(sp.count + B * L);
      const G = sp.grad;
      for (let i = 0; i < B; i++) {
        const xi = i * E;
        if (slot.kind === 'single') {
          const g = sp.slot(idx[i]);
          for (let e = 0; e < E; e++) G[g + e] += dX[xi + e];
          continue;
        }
        let count = 0;
        for (let l = 0; l < L; l++) if (idx[i * L + l] > 0) count++;
        if (count === 0) continue;
        const w = slot.pooling === 'sqrtn' ? 1 / Math.sqrt(count) : 1 / count;
        for (let l = 0; l < L; l++) {
          const id = idx[i * L + l];
          if (id <= 0) continue;
          const g = sp.slot(id);
          for (let e = 0; e < E; e++) G[g + e] += w * dX[xi + e];
        }
      }
    }
  }

  /**
   * One Adam step with bias-corrected step size lrT; clears all gradients. `decay` (lr × weight
   * decay) shrinks the dense parameters and the table rows this step touched (lazily, like the
   * moments: a row nobody used is left alone).
   */
  step(lrT: number, decay = 0): void {
    for (const a of this.dense) a.step(lrT, ADAM_B1, ADAM_B2, ADAM_EPS, decay);
    const E = this.E;
    for (let s = 0; s < this.slots.length; s++) {
      const sp = this.sparse[s];
      if (!sp) continue;
      const T = this.tables[s];
      const { m, v, grad: G } = sp;
      for (let k = 0; k < sp.count; k++) {
        const r = sp.touched[k];
        const t = r * E;
        const g0 = k * E;
        if (decay > 0) for (let e = 0; e < E; e++) T[t + e] -= decay * T[t + e];
        for (let e = 0; e < E; e++) {
          const g = G[g0 + e];
          const mi = ADAM_B1 * m[t + e] + (1 - ADAM_B1) * g;
          const vi = ADAM_B2 * v[t + e] + (1 - ADAM_B2) * g * g;
          m[t + e] = mi;
          v[t + e] = vi;
          T[t + e] -= (lrT * mi) / (Math.sqrt(vi) + ADAM_EPS);
        }
        sp.rowSlot[r] = -1;
        sp.trained[r] = 1;
      }
      G.fill(0, 0, sp.count * E);
      sp.count = 0;
    }
    if (this.ema) {
      // Warm-up (as TensorFlow's num_updates): early on the average follows the weights closely,
      // so that a short run is not scored with weights still close to their random init.
      const n = this.ema.steps++;
      const decay = Math.min(this.ema.decay, (1 + n) / (this.ema.warmup + n));
      const copies = this.ema.copies;
      this.params().forEach((p, i) => {
        const e = copies[i];
        for (let j = 0; j < p.length; j++) e[j] += (1 - decay) * (p[j] - e[j]);
      });
    }
  }

  private ema: { decay: number; warmup: number; steps: number; copies: Float32Array[] } | null = null;

  /**
   * Keeps an exponential moving average of every parameter, updated after each step: the average
   * of the last ~1/(1-decay) steps' weights scores better than any one of them (it smooths the
   * noise of sampled inputs and targets, as an ensemble would, at no inference cost). The decay
   * ramps up as min(decay, (1 + n) / (warmup + n)) after step n: until it reaches `decay` this is
   * polynomial-decay averaging with η = warmup - 2 (Shamir & Zhang 2013), whose weights' mean age
   * is about 1/warmup of the steps so far, however long the run (10: the last ~10%).
   */
  enableEma(decay: number, warmup = 10): void {
    if (!(warmup > 1)) throw new Error(`ema warm-up must be > 1, got ${warmup}`);
    this.ema = { decay, warmup, steps: 0, copies: this.params().map((p) => p.slice()) };
  }

  /** Exchanges the live parameters with their moving averages (call twice to swap back). */
  swapEma(): void {
    if (!this.ema) return;
    const copies = this.ema.copies;
    this.params().forEach((p, i) => {
      const e = copies[i];
      for (let j = 0; j < p.length; j++) {
        const t = p[j];
        p[j] = e[j];
        e[j] = t;
      }
    });
  }

  private params(): Float32Array[] {
    return [...this.tables, this.w1, this.b1, this.w2, this.b2];
  }

  /**
   * Rows never trained still hold their random init. A single-id row (an item or user with no
   * training pairs) becomes a copy of row 0 when row 0, the "unknown" row, was trained (id
   * dropout trains it), so it is treated like any cold id; any other untrained row (a tag or
   * history item never seen in training, a category without training items) becomes zero: no
   * information rather than noise. Untrained rows are never read in training, so this does not
   * change what training does.
   */
  fillUntrainedRows(): void {
    const E = this.E;
    this.slots.forEach((s, i) => {
      const sp = this.sparse[i];
      if (!sp) return;
      const T = this.tables[i];
      const copyUnknown = s.kind === 'single' && sp.trained[0] === 1;
      for (let r = 0; r < s.rows; r++) {
        if (sp.trained[r]) continue;
        if (copyUnknown) T.copyWithin(r * E, 0, E);
        else T.fill(0, r * E, (r + 1) * E);
      }
    });
  }

  /** Adds head gradients computed elsewhere (onnxruntime) to this step's gradients. */
  addHeadGradients(gW1: Float32Array, gB1: Float32Array, gW2: Float32Array, gB2: Float32Array): void {
    addInto(this.gW1, gW1);
    addInto(this.gB1, gB1);
    addInto(this.gW2, gW2);
    addInto(this.gB2, gB2);
  }

  /** Read-only gradient views, for the numerical gradient check. */
  gradients(): { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array; table: (slot: number, row: number) => Float32Array | null } {
    return {
      w1: this.gW1,
      b1: this.gB1,
      w2: this.gW2,
      b2: this.gB2,
      table: (s, row) => {
        const p = this.gProj[s];
        if (p) return p;
        const sp = this.sparse[s]!;
        const k = sp.rowSlot[row];
        return k < 0 ? null : sp.grad.subarray(k * this.E, (k + 1) * this.E);
      },
    };
  }

  /** Copies of all parameters (for keeping the best epoch). */
  snapshot(): Float32Array[] {
    return this.params().map((a) => a.slice());
  }

  restore(snap: Float32Array[]): void {
    this.params().forEach((a, i) => a.set(snap[i]));
  }

  weights(): TowerWeights {
    const tables: Record<string, Float32Array> = {};
    const projections: Record<string, Float32Array> = {};
    const pooling: Record<string, BagPooling> = {};
    for (const s of this.slots) if (s.pooling && s.pooling !== 'mean') pooling[s.name] = s.pooling;
    this.slots.forEach((s, i) => {
      if (s.kind === 'numeric') projections[s.name] = this.tables[i];
      else tables[s.name] = this.tables[i];
    });
    return { width: this.E, hidden: this.H, dim: this.D, normalize: this.normalize, pooling, tables, projections, w1: this.w1, b1: this.b1, w2: this.w2, b2: this.b2 };
  }
}

function addInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

function randn(rng: Random, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}
