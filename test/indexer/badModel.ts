/**
 * A model that meets the contract but whose item tower is broken: a copy of a real model folder
 * with item_tower.onnx replaced by a graph with the same inputs that outputs one fixed vector for
 * every item ('constant') or NaN everywhere ('nan'). loadModel accepts both (shapes and names are
 * right); only the indexer's validation gate can refuse them.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GraphBuilder } from '../../models/onnx/builder.js';

interface ManifestView {
  embeddingDim: number;
  itemTower: { file: string; inputs: { name: string; dtype: 'int64' | 'float32'; shape: (number | string)[] }[]; output: { name: string } };
}

export async function writeBadModel(from: string, to: string, kind: 'constant' | 'nan'): Promise<string> {
  await fs.cp(from, to, { recursive: true });
  const m = JSON.parse(await fs.readFile(path.join(to, 'manifest.json'), 'utf8')) as ManifestView;
  const dim = m.embeddingDim;
  const g = new GraphBuilder(`broken_${kind}`);
  for (const inp of m.itemTower.inputs) g.input(inp.name, inp.dtype, inp.shape);
  const rank1 = m.itemTower.inputs.find((i) => i.shape.length === 1);
  if (!rank1) throw new Error('the item tower has no rank-1 input to take the batch size from');
  // [batch] → [batch, 1] of zeros → + row: every item gets the same row.
  const x = rank1.dtype === 'int64' ? g.op('Cast', [rank1.name], { to: 1 }) : rank1.name;
  const col = g.op('Unsqueeze', [x, g.int64Tensor('axis1', [1], [1])]);
  const zeros = g.op('Mul', [col, g.floatTensor('zero', [], [0])]);
  const row = new Float32Array(dim).fill(kind === 'nan' ? Number.NaN : 1 / Math.sqrt(dim));
  g.op('Add', [zeros, g.floatTensor('row', [dim], row)], {}, m.itemTower.output.name);
  g.output(m.itemTower.output.name, 'float32', ['batch', dim]);
  await fs.writeFile(path.join(to, m.itemTower.file), g.toBytes());
  return to;
}
