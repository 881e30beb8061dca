/**
 * Vocabularies: string value <-> dense index, with index 0 reserved for unknown/padding.
 * Stored as a JSON array of strings (position i has index i + 1), one file per vocabulary.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TwoTowerError } from '../shared/errors.js';
import type { ModelManifest, VocabRef } from './manifest.js';

export class Vocab {
  private readonly index = new Map<string, number>();

  constructor(readonly values: readonly string[]) {
    for (let i = 0; i < values.length; i++) {
      // First occurrence wins so that a vocabulary is a function; writers never emit duplicates.
      if (!this.index.has(values[i])) this.index.set(values[i], i + 1);
    }
  }

  /** Number of values (the embedding table has size + 1 rows). */
  get size(): number {
    return this.values.length;
  }

  /** Index of a value, 0 when unknown or absent. */
  indexOf(value: string | null | undefined): number {
    if (value === null || value === undefined) return 0;
    return this.index.get(value) ?? 0;
  }

  /** Value at an index, null for 0 or out of range. */
  valueAt(index: number): string | null {
    return index >= 1 && index <= this.values.length ? this.values[index - 1] : null;
  }
}

export type Vocabularies = ReadonlyMap<string, Vocab>;

/** Loads every vocabulary a manifest names and checks its size against the manifest. */
export async function readVocabularies(dir: string, manifest: ModelManifest): Promise<Map<string, Vocab>> {
  const out = new Map<string, Vocab>();
  for (const [name, ref] of Object.entries(manifest.vocabularies)) {
    let text: string;
    try {
      text = await readFile(join(dir, ref.file), 'utf8');
    } catch (err) {
      throw new TwoTowerError('MODEL_CONTRACT', `${ref.file}: cannot read vocabulary '${name}' (${(err as Error).message})`, { file: ref.file });
    }
    out.set(name, parseVocabulary(text, name, ref));
  }
  return out;
}

/** Parses a vocabulary file's text and checks it against its manifest entry. */
export function parseVocabulary(text: string, name: string, ref: VocabRef): Vocab {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (err) {
    throw new TwoTowerError('MODEL_CONTRACT', `${ref.file}: vocabulary '${name}' is not valid JSON (${(err as Error).message})`, { file: ref.file });
  }
  if (!Array.isArray(values) || !values.every((x) => typeof x === 'string'))
    throw new TwoTowerError('MODEL_CONTRACT', `${ref.file}: vocabulary '${name}' must be a JSON array of strings`, { file: ref.file });
  if (values.length !== ref.size)
    throw new TwoTowerError('MODEL_CONTRACT', `${ref.file}: vocabulary '${name}' has ${values.length} values, manifest says ${ref.size}`, { file: ref.file });
  return new Vocab(values as string[]);
}
