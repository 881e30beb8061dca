/** A readable table of a store's versions for `twotower index list`. */
import path from 'node:path';
import { readJsonFile } from './binaryFiles.js';
import type { IndexManifest } from './types.js';
import { listVersions, readCurrent, versionDir } from './versionStore.js';

export async function describeVersions(store: string): Promise<string> {
  const versions = await listVersions(store);
  if (versions.length === 0) return `no versions in ${store}`;
  const current = await readCurrent(store);
  const rows = [['', 'version', 'created', 'model', 'items', 'users', 'checks']];
  for (const v of versions) {
    let m: IndexManifest | null = null;
    try {
      m = await readJsonFile<IndexManifest>(path.join(versionDir(store, v), 'manifest.json'));
    } catch {
      m = null; // listed anyway, so a damaged version is visible rather than hidden
    }
    const passed = m ? m.checks.filter((c) => c.passed).length : 0;
    rows.push([
      v === current ? '*' : '',
      v,
      m?.createdAt ?? '?',
      m?.model.version ?? '?',
      String(m?.counts.items ?? '?'),
      String(m?.counts.users ?? '?'),
      m ? `${passed}/${m.checks.length} passed` : 'manifest unreadable',
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
