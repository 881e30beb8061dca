import { describe, expect, it } from 'vitest';
import type { ItemRow } from '../../shared/data/types.js';
import { encodeItems, encodeUsers, toOrtFeeds, widenToInt64 } from '../../models/features.js';
import type { TowerSpec } from '../../models/manifest.js';
import { Vocab } from '../../models/vocab.js';

const vocabs = new Map([
  ['items', new Vocab(['i1', 'i2', 'i3', 'i4', 'i5'])],
  ['users', new Vocab(['u1', 'u2'])],
  ['category', new Vocab(['books', 'music'])],
  ['tags', new Vocab(['a', 'b', 'c'])],
  ['cat_country', new Vocab(['DE', 'FR'])],
]);

const itemSpec: TowerSpec = {
  file: 'item_tower.onnx',
  inputs: [
    { name: 'item_id', kind: 'id', dtype: 'int64', shape: ['batch'], column: 'item_id', vocab: 'items' },
    { name: 'category', kind: 'categorical', dtype: 'int64', shape: ['batch'], column: 'category', vocab: 'category' },
    { name: 'tags', kind: 'bag', dtype: 'int64', shape: ['batch', 2], column: 'tags', vocab: 'tags', maxLength: 2 },
    { name: 'numeric', kind: 'numeric', dtype: 'float32', shape: ['batch', 2], columns: ['num_price', 'num_year'], mean: [10, 2000], std: [2, 10] },
  ],
  output: { name: 'embedding', dtype: 'float32', shape: ['batch', 4] },
};

const userSpec: TowerSpec = {
  file: 'user_tower.onnx',
  inputs: [
    { name: 'user_id', kind: 'id', dtype: 'int64', shape: ['batch'], column: 'user_id', vocab: 'users' },
    { name: 'cat_country', kind: 'categorical', dtype: 'int64', shape: ['batch'], column: 'cat_country', vocab: 'cat_country' },
    { name: 'history', kind: 'history', dtype: 'int64', shape: ['batch', 3], vocab: 'items', maxLength: 3 },
  ],
  output: { name: 'embedding', dtype: 'float32', shape: ['batch', 4] },
};

describe('feature encoding', () => {
  it('encodes items: vocabulary indices with 0 for unknown, bags left-aligned, standardised numerics', () => {
    const rows: ItemRow[] = [
      { itemId: 'i2', category: 'music', tags: ['zzz', 'c', 'a', 'b'], numeric: { num_price: 14, num_year: 1990 } },
      { itemId: 'new', category: null, tags: [], numeric: { num_price: Number.NaN } },
    ];
    const [id, cat, tags, num] = encodeItems(itemSpec, vocabs, rows);
    expect(Array.from(id.data)).toEqual([2, 0]);
    expect(Array.from(cat.data)).toEqual([2, 0]);
    // Unknown tags are skipped (not padded), then the first maxLength known tags are kept.
    expect(tags.dims).toEqual([2, 2]);
    expect(Array.from(tags.data)).toEqual([3, 1, 0, 0]);
    expect(num.dtype).toBe('float32');
    expect(Array.from(num.data)).toEqual([2, -1, 0, 0]);
  });

  it('encodes users: history keeps the most recent known items, oldest first, zero-padded', () => {
    const [id, country, hist] = encodeUsers(userSpec, vocabs, [
      { userId: 'u2', user: { userId: 'u2', categorical: { cat_country: 'FR' }, numeric: {} }, history: ['i1', 'i2', 'x', 'i3', 'i4'] },
      { userId: null, user: null, history: ['i5', 'nope'] },
      { userId: 'ghost', user: null, history: [] },
    ]);
    expect(Array.from(id.data)).toEqual([2, 0, 0]);
    expect(Array.from(country.data)).toEqual([2, 0, 0]);
    expect(hist.dims).toEqual([3, 3]);
    expect(Array.from(hist.data)).toEqual([2, 3, 4, 5, 0, 0, 0, 0, 0]);
  });

  it('widens indices to int64 exactly and builds onnxruntime tensors', () => {
    const src = Int32Array.from([0, 1, 2147483647, 42]);
    expect(Array.from(widenToInt64(src))).toEqual([0n, 1n, 2147483647n, 42n]);
    const feeds = toOrtFeeds(encodeItems(itemSpec, vocabs, [{ itemId: 'i1', category: 'books', tags: ['a'], numeric: {} }]));
    expect(Object.keys(feeds)).toEqual(['item_id', 'category', 'tags', 'numeric']);
    expect(feeds.tags.type).toBe('int64');
    expect(feeds.tags.dims).toEqual([1, 2]);
    expect(feeds.numeric.type).toBe('float32');
  });
});
