/**
 * Checksums of a version's files, written at publish and verified at load, before any byte of the
 * version reaches native code.
 *
 * Why: hnswlib and LMDB trust their files. A damaged hnsw.bin (a flipped header field, a torn
 * copy, a bad sector) makes readIndex or the first search read out of bounds, and a truncated or
 * overwritten LMDB file makes the first get() fault: the ranker dies with SIGSEGV or SIGBUS while
 * loading the new version in the background, taking the serving version down with it. Neither
 * library can be asked to check its input, so the store does: a version is served only if every
 * file is byte for byte what the build published.
 *
 * checksums.json: { format, algorithm, files: { "<relative path>": { size, sha256 } } }. Every
 * regular file of the version is listed except LMDB's lock files, which readers rewrite (reader
 * table) and which LMDB re-initialises itself. Symbolic links are refused at both ends: a version
 * must not reach outside its folder, and a link could be re-pointed after publishing.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TwoTowerError } from '../errors.js';

export const CHECKSUMS_FILE = 'checksums.json';
const FORMAT = 'twotower-checksums/1';

export interface FileChecksum {
  size: number;
  sha256: string;
}

export interface Checksums {
  format: typeof FORMAT;
  algorithm: 'sha256';
  files: Record<string, FileChecksum>;
}

/** LMDB's reader-table files (`<db>-lock`): rewritten by every reader, so not part of the content. */
function isVolatile(rel: string): boolean {
  return rel.endsWith('-lock');
}

/** Relative paths (with '/') of every regular file under dir except checksums.json and lock files. */
async function contentFiles(dir: string, where: (rel: string) => string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        if (r !== CHECKSUMS_FILE && !isVolatile(r)) out.push(r);
      } else if (!isVolatile(r)) {
        throw new TwoTowerError('STORE', `${where(r)}: is a ${e.isSymbolicLink() ? 'symbolic link' : 'special file'}; a version holds regular files only`);
      }
    }
  };
  await walk('');
  return out.sort();
}

async function hashFile(file: string): Promise<FileChecksum> {
  const h = createHash('sha256');
  const fh = await fs.open(file, 'r');
  try {
    // 1 MiB reads: each update is well under a millisecond of the event loop, so a ranker
    // verifying a new version in the background keeps answering requests meanwhile.
    const buf = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: h.digest('hex') };
  } finally {
    await fh.close();
  }
}

/** Hashes every file of a finished build and writes checksums.json beside them. */
export async function writeChecksums(dir: string): Promise<Checksums> {
  const files: Record<string, FileChecksum> = {};
  for (const rel of await contentFiles(dir, (r) => path.join(dir, r))) files[rel] = await hashFile(path.join(dir, rel));
  const sums: Checksums = { format: FORMAT, algorithm: 'sha256', files };
  await fs.writeFile(path.join(dir, CHECKSUMS_FILE), JSON.stringify(sums, null, 1));
  return sums;
}

/**
 * Refuses a version whose files differ from what was published: a file missing, added, resized or
 * changed, a link, or a checksums file that is absent, malformed or names a path outside the
 * version. `label` names the version in messages (its path relative to the store, not an absolute
 * path, since messages can reach an admin client).
 */
export async function verifyChecksums(dir: string, label: string): Promise<void> {
  const where = (rel: string) => `${label}/${rel}`;
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, CHECKSUMS_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TwoTowerError(
      'STORE',
      code === 'ENOENT'
        ? `${where(CHECKSUMS_FILE)}: missing, so the version's files cannot be verified (a version published before checksums were recorded must be rebuilt)`
        : `${where(CHECKSUMS_FILE)}: cannot read (${code ?? 'error'})`,
    );
  }
  let sums: Checksums;
  try {
    sums = JSON.parse(text) as Checksums;
  } catch {
    throw new TwoTowerError('STORE', `${where(CHECKSUMS_FILE)}: not valid JSON`);
  }
  if (!sums || sums.format !== FORMAT || sums.algorithm !== 'sha256' || typeof sums.files !== 'object' || sums.files === null) {
    throw new TwoTowerError('STORE', `${where(CHECKSUMS_FILE)}: not a ${FORMAT} sha256 checksums file`);
  }
  const listed = Object.keys(sums.files).sort();
  for (const rel of listed) {
    // Checked before the name is joined to any path: '..', absolute paths and backslashes would
    // point the verifier (and then the loader) outside the version.
    if (rel === '' || rel.startsWith('/') || rel.includes('\\') || rel.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new TwoTowerError('STORE', `${where(CHECKSUMS_FILE)}: lists '${rel}', which is not a path inside the version`);
    }
    const entry = sums.files[rel];
    if (!entry || !Number.isSafeInteger(entry.size) || typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256)) {
      throw new TwoTowerError('STORE', `${where(CHECKSUMS_FILE)}: the entry of '${rel}' is malformed`);
    }
  }
  const present = await contentFiles(dir, where);
  const missing = listed.filter((f) => !present.includes(f));
  if (missing.length) throw new TwoTowerError('STORE', `${where(missing[0])}: missing (listed in ${CHECKSUMS_FILE}); the version is incomplete`);
  const extra = present.filter((f) => !(f in sums.files));
  if (extra.length) throw new TwoTowerError('STORE', `${where(extra[0])}: not in ${CHECKSUMS_FILE}; the version was changed after publishing`);
  for (const rel of listed) {
    const expected = sums.files[rel];
    const { size } = await fs.lstat(path.join(dir, rel));
    if (size !== expected.size) {
      throw new TwoTowerError('STORE', `${where(rel)}: ${size} bytes, published with ${expected.size}; the file is damaged (truncated or overwritten)`);
    }
    const actual = await hashFile(path.join(dir, rel));
    if (actual.sha256 !== expected.sha256) {
      throw new TwoTowerError('STORE', `${where(rel)}: checksum mismatch; the file is damaged (changed after publishing)`);
    }
  }
}
