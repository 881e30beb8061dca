/**
 * Area 5, hostile files. A version store holds one good version; each case adds a bad one, the
 * way damage or a bad build would leave it, points CURRENT at it and asks a ranker running in its
 * own process to reload. The ranker must refuse it with a clear error naming the file, stay up,
 * and keep serving the good version. (hnswlib and LMDB crash the process that reads a damaged file,
 * with SIGSEGV or SIGBUS; that is why the ranker runs apart from the test, and why the store now
 * verifies checksums before any native code reads a file.) Two kinds of bad version:
 *
 * - damaged after publishing (truncated, overwritten, bytes flipped, files added, removed or
 *   replaced by links): refused by the checksums recorded at publish;
 * - built wrong and published with matching checksums (wrong counts, wrong dimensions, duplicate
 *   or missing ids, indices out of range, a model that does not meet its manifest): refused by
 *   the structural checks of loadVersion and loadModel.
 *
 * Then paths that try to leave the store (CURRENT, --to, version ids, links), and bad inputs to a
 * build (duplicate and missing ids, a model that does not match its contract, a model folder with
 * a link): each refused, nothing published.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/buildIndex.js';
import { TwoTowerError } from '../../shared/errors.js';
import { loadInteractions, loadItems, loadUsers } from '../../shared/data/readers.js';
import type { InteractionRow, ItemRow, UserRow } from '../../shared/data/types.js';
import { writeInteractions, writeItems, writeUsers } from '../../shared/data/writers.js';
import { silentLogger } from '../../shared/log.js';
import { CHECKSUMS_FILE, writeChecksums } from '../../shared/store/checksums.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { IndexManifest } from '../../shared/store/types.js';
import { flipCurrent, listVersions, readCurrent, rollback, tmpDir, versionDir } from '../../shared/store/versionStore.js';
import { cli, sharedFixture, type SharedFixture } from '../indexer/fixture.js';
import { leaks, report, ROOT, timeout } from './helpers.js';

const TOKEN = 'hostile-files-token';
const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');

let fx: SharedFixture;
let root: string;
let store: string;
let good: string;
let ranker: { child: ChildProcess; url: string; exited: Promise<{ code: number | null; signal: string | null }> };
const refusals: string[] = [];

async function startRanker(): Promise<typeof ranker> {
  const child = fork(VITE_NODE, [path.join(ROOT, 'test', 'reliability', 'rankerChild.ts'), store], {
    cwd: ROOT,
    env: { ...process.env, TWOTOWER_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url?: string; error?: string }) => (m.url ? resolve(m.url) : reject(new Error(m.error))));
    void exited.then((e) => reject(new Error(`ranker exited before starting: ${JSON.stringify(e)}`)));
  });
  return { child, url, exited };
}

beforeAll(async () => {
  fx = await sharedFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-rel-files-'));
  store = path.join(root, 'store');
  good = (await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger })).version;
  ranker = await startRanker();
});

afterAll(async () => {
  if (ranker && ranker.child.exitCode === null && ranker.child.signalCode === null) {
    ranker.child.kill('SIGTERM');
    await ranker.exited;
  }
  if (root) await fs.rm(root, { recursive: true, force: true });
});

let seq = 0;
/** A copy of the good version under a new id, its checksums re-recorded: a valid version. */
async function copyOfGood(): Promise<{ id: string; dir: string }> {
  const id = `v20990101T0000${String(10 + (seq++ % 50)).padStart(2, '0')}Z-${(0xa00000 + seq).toString(16)}`;
  const dir = versionDir(store, id);
  await fs.cp(versionDir(store, good), dir, { recursive: true });
  // LMDB's lock files belong to the readers of the original; a fresh copy starts without them.
  for (const f of await fs.readdir(dir)) if (f.endsWith('-lock')) await fs.rm(path.join(dir, f));
  await editJson<IndexManifest>(dir, 'manifest.json', (m) => ({ ...m, version: id }));
  await writeChecksums(dir);
  return { id, dir };
}

async function editJson<T>(dir: string, file: string, edit: (v: T) => unknown): Promise<void> {
  const p = path.join(dir, file);
  await fs.writeFile(p, JSON.stringify(edit(JSON.parse(await fs.readFile(p, 'utf8')) as T)));
}

async function overwrite(file: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/**
 * Points CURRENT at the bad version, asks the ranker to reload, and checks the refusal: 409 with
 * a message naming the problem, no host path in it, the process alive, the good version serving.
 */
async function expectRefusedByRanker(name: string, id: string | null, message: RegExp): Promise<void> {
  if (id) await flipCurrent(store, id);
  const res = await post(`${ranker.url}/admin/reload`, {}, { authorization: `Bearer ${TOKEN}` });
  const text = await res.text();
  expect(ranker.child.exitCode, `${name}: the ranker died`).toBeNull();
  expect(ranker.child.signalCode, `${name}: the ranker died`).toBeNull();
  expect(res.status, `${name}: ${text}`).toBe(409);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('VERSION_REFUSED');
  expect(body.error.message, name).toMatch(message);
  expect(leaks(body.error.message, ''), `${name}: ${body.error.message}`).toEqual([]);
  refusals.push(`${name} → ${body.error.message.replace(/^version \S+ refused: /, '').slice(0, 140)}`);
  // Still serving the good version, and answering.
  const ready = (await (await fetch(`${ranker.url}/readyz`)).json()) as { indexVersion: string };
  expect(ready.indexVersion).toBe(good);
  const rank = await post(`${ranker.url}/v1/rank`, { userId: 'someone', k: 5 });
  expect(rank.status).toBe(200);
  expect(((await rank.json()) as { indexVersion: string }).indexVersion).toBe(good);
  await flipCurrent(store, good);
}

type Case = [name: string, damage: (dir: string, id: string) => Promise<void>, message: RegExp];

const DAMAGED = /checksum mismatch|published with \d+|missing|not in checksums\.json|symbolic link|not valid JSON|not a path inside|not a twotower-checksums/;

describe('a version damaged after publishing is refused by its checksums, and the ranker stays up', () => {
  const cases: Case[] = [
    ['hnsw.bin truncated to a third', async (d) => fs.truncate(path.join(d, 'hnsw.bin'), Math.floor((await fs.stat(path.join(d, 'hnsw.bin'))).size / 3)), /hnsw\.bin: \d+ bytes, published with/],
    ['hnsw.bin header overwritten (crashed hnswlib with SIGSEGV before checksums)', (d) => overwrite(path.join(d, 'hnsw.bin'), 0, Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0])), /hnsw\.bin: checksum mismatch/],
    ['hnsw.bin links overwritten mid-file (SIGSEGV at the first search)', (d) => overwrite(path.join(d, 'hnsw.bin'), 150_000, Buffer.alloc(4000, 0xab)), /hnsw\.bin: checksum mismatch/],
    ['candidates.lmdb truncated (SIGBUS)', (d) => fs.truncate(path.join(d, 'candidates.lmdb'), 8192), /candidates\.lmdb: 8192 bytes, published with/],
    ['candidates.lmdb first page overwritten (SIGSEGV)', (d) => overwrite(path.join(d, 'candidates.lmdb'), 0, Buffer.alloc(4096, 0x5a)), /candidates\.lmdb: checksum mismatch/],
    ['users.lmdb page overwritten mid-file', (d) => overwrite(path.join(d, 'users.lmdb'), 20_480, Buffer.alloc(4096, 0x11)), /users\.lmdb: checksum mismatch/],
    ['ranker.onnx replaced by text', (d) => fs.writeFile(path.join(d, 'model', 'ranker.onnx'), 'not a model'), /model\/ranker\.onnx: \d+ bytes, published with/],
    ['user_tower.onnx truncated', async (d) => fs.truncate(path.join(d, 'model', 'user_tower.onnx'), 100), /model\/user_tower\.onnx: 100 bytes/],
    ['item_tower.onnx: one weight byte flipped (onnxruntime would load it and score wrong)', async (d) => {
      const f = path.join(d, 'model', 'item_tower.onnx');
      const { size } = await fs.stat(f);
      const b = Buffer.alloc(1);
      const fh = await fs.open(f, 'r+');
      await fh.read(b, 0, 1, size - 64);
      b[0] ^= 0x40;
      await fh.write(b, 0, 1, size - 64);
      await fh.close();
    }, /model\/item_tower\.onnx: checksum mismatch/],
    ['item_embeddings.f32 bytes set to NaN', (d) => overwrite(path.join(d, 'item_embeddings.f32'), 64, Buffer.from([0, 0, 0xc0, 0x7f])), /item_embeddings\.f32: checksum mismatch/],
    ['manifest.json cut in half', async (d) => fs.truncate(path.join(d, 'manifest.json'), 100), /manifest\.json: 100 bytes/],
    ['checksums.json deleted', (d) => fs.rm(path.join(d, CHECKSUMS_FILE)), /checksums\.json: missing/],
    ['checksums.json not JSON', (d) => fs.writeFile(path.join(d, CHECKSUMS_FILE), '{"format":'), /checksums\.json: not valid JSON/],
    ['checksums.json naming ../../../etc/passwd', async (d) => editJson<{ files: Record<string, unknown> }>(d, CHECKSUMS_FILE, (c) => ({ ...c, files: { ...c.files, '../../../etc/passwd': { size: 1, sha256: '0'.repeat(64) } } })), /'\.\.\/\.\.\/\.\.\/etc\/passwd', which is not a path inside the version/],
    ['checksums.json naming an absolute path', async (d) => editJson<{ files: Record<string, unknown> }>(d, CHECKSUMS_FILE, (c) => ({ ...c, files: { ...c.files, '/etc/passwd': { size: 1, sha256: '0'.repeat(64) } } })), /not a path inside the version/],
    ['a file added (a planted library)', (d) => fs.writeFile(path.join(d, 'model', 'evil.so'), 'x'), /model\/evil\.so: not in checksums\.json/],
    ['popular.json deleted', (d) => fs.rm(path.join(d, 'popular.json')), /popular\.json: missing/],
    ['hnsw.bin replaced by a link to the good version', async (d) => {
      await fs.rm(path.join(d, 'hnsw.bin'));
      await fs.symlink(path.join(versionDir(store, good), 'hnsw.bin'), path.join(d, 'hnsw.bin'));
    }, /hnsw\.bin: is a symbolic link/],
    ['item_ids.json replaced by a link to /etc/passwd', async (d) => {
      await fs.rm(path.join(d, 'item_ids.json'));
      await fs.symlink('/etc/passwd', path.join(d, 'item_ids.json'));
    }, /item_ids\.json: is a symbolic link/],
  ];
  it.each(cases)('%s', async (name, damage, message) => {
    const { id, dir } = await copyOfGood();
    await damage(dir, id);
    expect(message.source.length).toBeGreaterThan(0);
    await expectRefusedByRanker(name, id, message);
    expect(DAMAGED.test(refusals[refusals.length - 1])).toBe(true);
  });
});

describe('a version built wrong (checksums match) is refused by the structural checks', () => {
  const cases: Case[] = [
    ['manifest.json not JSON', (d) => fs.writeFile(path.join(d, 'manifest.json'), '{"format": "twotower-index/1",'), /manifest\.json: not valid JSON/],
    ['manifest of another version', (d) => editJson<IndexManifest>(d, 'manifest.json', (m) => ({ ...m, version: good })), /manifest\.json: not a manifest of version/],
    ['manifest without model or counts', (d, id) => fs.writeFile(path.join(d, 'manifest.json'), JSON.stringify({ format: 'twotower-index/1', version: id })), /model\.dim must be a positive integer/],
    ['manifest: items count one too many', (d) => editJson<IndexManifest>(d, 'manifest.json', (m) => ({ ...m, counts: { ...m.counts, items: m.counts.items + 1 } })), /item_ids\.json: expected 1501 item ids/],
    ['manifest: items count as a string', (d) => editJson<IndexManifest>(d, 'manifest.json', (m) => ({ ...m, counts: { ...m.counts, items: '1500' } })), /counts\.items must be a positive integer/],
    ['manifest: dimension doubled', (d) => editJson<IndexManifest>(d, 'manifest.json', (m) => ({ ...m, model: { ...m.model, dim: m.model.dim * 2 } })), /item_embeddings\.f32: holds \d+ float32 values, expected \d+/],
    ['manifest: dimension 0', (d) => editJson<IndexManifest>(d, 'manifest.json', (m) => ({ ...m, model: { ...m.model, dim: 0 } })), /model\.dim must be a positive integer/],
    ['manifest: another model version', (d) => editJson<IndexManifest>(d, 'manifest.json', (m) => ({ ...m, model: { ...m.model, version: 'm-someone-else' } })), /model .* does not match the manifest/],
    ['item_ids.json with a duplicate id', (d) => editJson<string[]>(d, 'item_ids.json', (ids) => ids.map((x, i) => (i === 7 ? ids[3] : x))), /item_ids\.json: item id '\S+' appears twice \(entries 3 and 7\)/],
    ['item_ids.json with an id missing', (d) => editJson<string[]>(d, 'item_ids.json', (ids) => ids.slice(1)), /item_ids\.json: expected 1500 item ids/],
    ['item_ids.json with a number for an id', (d) => editJson<unknown[]>(d, 'item_ids.json', (ids) => ids.map((x, i) => (i === 5 ? 5 : x))), /item_ids\.json: entry 5 is not a non-empty string/],
    ['item_ids.json with an empty id', (d) => editJson<string[]>(d, 'item_ids.json', (ids) => ids.map((x, i) => (i === 9 ? '' : x))), /item_ids\.json: entry 9 is not a non-empty string/],
    ['popular.json pointing past the catalog', (d) => fs.writeFile(path.join(d, 'popular.json'), JSON.stringify([0, 1, 99_999])), /popular\.json: entry 2 is 99999, not an item index below 1500/],
    ['popular.json not an array', (d) => fs.writeFile(path.join(d, 'popular.json'), '{"0": 1}'), /popular\.json: expected an array/],
    ['item_meta.json category past the list', (d) => editJson<{ categories: string[]; category: number[] }>(d, 'item_meta.json', (m) => ({ ...m, category: m.category.map((c, i) => (i === 2 ? m.categories.length : c)) })), /item_meta\.json: category of item 2/],
    ['item_embeddings.f32 a row short', async (d) => fs.truncate(path.join(d, 'item_embeddings.f32'), (await fs.stat(path.join(d, 'item_embeddings.f32'))).size - 64), /item_embeddings\.f32: holds \d+ float32 values, expected/],
    ['popularity.f32 of an odd size', async (d) => fs.appendFile(path.join(d, 'popularity.f32'), Buffer.from([1])), /popularity\.f32: size \d+ is not a whole number of float32 values/],
    ['hnsw.bin empty', (d) => fs.writeFile(path.join(d, 'hnsw.bin'), ''), /hnsw\.bin: cannot read HNSW index/],
    ['hnsw.bin of random bytes', (d) => fs.writeFile(path.join(d, 'hnsw.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))), /hnsw\.bin: cannot read HNSW index/],
    ['model contract: embeddingDim in the model manifest differs from its ONNX output', (d) => editJson<{ embeddingDim: number }>(d, 'model/manifest.json', (m) => ({ ...m, embeddingDim: m.embeddingDim + 1 })), /embeddingDim|shape|dimension|does not match/i],
    ['model contract: ranker features reordered', (d) => editJson<{ ranker: { features: string[] } }>(d, 'model/manifest.json', (m) => ({ ...m, ranker: { ...m.ranker, features: [...m.ranker.features].reverse() } })), /feature/i],
    ['model contract: an ONNX file missing', (d) => fs.rm(path.join(d, 'model', 'ranker.onnx')), /ranker\.onnx: is missing/],
  ];
  it.each(cases)('%s', async (name, damage, message) => {
    const { id, dir } = await copyOfGood();
    await damage(dir, id);
    await writeChecksums(dir);
    await expectRefusedByRanker(name, id, message);
    // The same refusal in process, as a typed STORE or MODEL_CONTRACT error.
    const err = await loadVersion(store, id).then(
      async (v) => {
        await v.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TwoTowerError);
    expect(['STORE', 'MODEL_CONTRACT']).toContain((err as TwoTowerError).code);
  });
});

describe('paths that try to leave the store', () => {
  it('CURRENT naming ../x, an absolute path, a traversal or a missing version: reload refused, the ranker keeps serving', async () => {
    for (const [content, message] of [
      ['../x', /'\.\.\/x' is not a version id/],
      ['/etc', /'\/etc' is not a version id/],
      ['v20990101T000000Z-abcdef/../../../etc', /is not a version id/],
      ['..', /'\.\.' is not a version id/],
      ['v20990101T000000Z-abcdef', /versions\/v20990101T000000Z-abcdef: no such version in the store/],
    ] as [string, RegExp][]) {
      await fs.writeFile(path.join(store, 'CURRENT'), `${content}\n`);
      await expectRefusedByRanker(`CURRENT = ${content}`, null, message);
    }
  });

  it('a version folder that is a link to a folder outside the store is refused', async () => {
    const { id, dir } = await copyOfGood();
    const outside = path.join(root, 'outside');
    await fs.rename(dir, outside);
    await fs.symlink(outside, dir);
    await expectRefusedByRanker('version folder linked outside the store', id, /is a symbolic link; a version must be a folder inside the store/);
  });

  it('the API and the CLI refuse version ids that are paths', async () => {
    for (const bad of ['../../etc', '/etc/passwd', 'v1/../../x', '', '.', 'v20990101T000000Z-abcdeg']) {
      await expect(loadVersion(store, bad)).rejects.toMatchObject({ code: 'STORE', message: expect.stringMatching(/is not a version id/) });
      await expect(flipCurrent(store, bad)).rejects.toMatchObject({ code: 'STORE' });
      await expect(rollback(store, bad)).rejects.toMatchObject({ code: 'STORE' });
    }
    expect(await readCurrent(store)).toBe(good);
    const r = await cli(['index', 'rollback', '--store', store, '--to', '../../etc']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^twotower: STORE: '\.\.\/\.\.\/etc' is not a version id/m);
    const missing = await cli(['index', 'rollback', '--store', store, '--to', 'v20990101T000000Z-fedcba']);
    expect(missing.code).toBe(6);
    expect(await readCurrent(store)).toBe(good);
    refusals.push(`index rollback --to ../../etc → exit 5: ${r.stderr.trim().split('\n')[0]}`);
  });

  it('a ranker started on a store whose CURRENT escapes, or names a damaged version, refuses to start', async () => {
    const other = path.join(root, 'store-start');
    await fs.mkdir(path.join(other, 'versions'), { recursive: true });
    await fs.writeFile(path.join(other, 'CURRENT'), '../store/versions/x\n');
    const { serve } = await import('../../ranker/serve.js');
    await expect(serve({ store: other, port: 0, logger: false })).rejects.toMatchObject({ code: 'STORE', message: expect.stringMatching(/is not a version id/) });
    await fs.cp(versionDir(store, good), versionDir(other, good), { recursive: true });
    await fs.truncate(path.join(versionDir(other, good), 'hnsw.bin'), 1000);
    await fs.writeFile(path.join(other, 'CURRENT'), `${good}\n`);
    await expect(serve({ store: other, port: 0, logger: false })).rejects.toMatchObject({ code: 'STORE', message: expect.stringMatching(/hnsw\.bin: 1000 bytes, published with/) });
  });
});

describe('bad inputs to a build are refused and nothing is published', () => {
  let items: ItemRow[];
  let users: UserRow[];
  let interactions: InteractionRow[];
  beforeAll(async () => {
    items = await loadItems(path.join(fx.world, 'items.arrow'));
    users = await loadUsers(path.join(fx.world, 'users.arrow'));
    interactions = await loadInteractions(path.join(fx.world, 'interactions.arrow'));
  });

  let n = 0;
  async function dataDir(over: { items?: ItemRow[]; users?: UserRow[]; interactions?: InteractionRow[]; files?: Record<string, string> }): Promise<string> {
    const dir = path.join(root, `data-${n++}`);
    await fs.mkdir(dir);
    const names = Object.keys(over.files ?? {});
    if (!names.some((f) => f.startsWith('items.'))) await writeItems(path.join(dir, 'items.arrow'), over.items ?? items);
    if (!names.some((f) => f.startsWith('users.'))) await writeUsers(path.join(dir, 'users.arrow'), over.users ?? users);
    if (!names.some((f) => f.startsWith('interactions.'))) await writeInteractions(path.join(dir, 'interactions.arrow'), over.interactions ?? interactions);
    for (const [name, content] of Object.entries(over.files ?? {})) await fs.writeFile(path.join(dir, name), content);
    return dir;
  }

  async function expectNothingPublished(make: () => Promise<{ data: string; model: string }>, code: string, message: RegExp): Promise<string> {
    const before = { current: await readCurrent(store), versions: await listVersions(store) };
    const { data, model } = await make();
    const err = await buildIndex({ data, model, store, logger: silentLogger }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, 'the build published').not.toBeNull();
    expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
    expect(await readCurrent(store)).toBe(before.current);
    expect(await listVersions(store)).toEqual(before.versions);
    expect(await fs.readdir(tmpDir(store)).catch(() => [])).toEqual([]);
    return (err as Error).message;
  }

  const cases: [string, () => Promise<{ data: string; model: string }>, string, RegExp][] = [
    ['duplicate item ids', async () => ({ data: await dataDir({ items: [...items, items[10]] }), model: fx.model }), 'BAD_INPUT', /duplicate item_id/],
    ['duplicate user ids', async () => ({ data: await dataDir({ users: [...users, users[3]] }), model: fx.model }), 'BAD_INPUT', /duplicate user_id/],
    ['an interaction naming a missing item', async () => ({ data: await dataDir({ interactions: [...interactions, { ...interactions[0], itemId: 'no-such-item' }] }), model: fx.model }), 'BAD_INPUT', /'no-such-item' is not in the catalog/],
    ['an item without an id', async () => ({ data: await dataDir({ files: { 'items.jsonl': [...items.slice(0, 5).map((i) => JSON.stringify({ item_id: i.itemId })), JSON.stringify({ item_id: null })].join('\n') } }), model: fx.model }), 'BAD_INPUT', /items\.jsonl, row 6, column 'item_id'/],
    ['an item id of blanks', async () => ({ data: await dataDir({ files: { 'items.jsonl': [...items.map((i) => JSON.stringify({ item_id: i.itemId })), JSON.stringify({ item_id: '   ' })].join('\n') } }), model: fx.model }), 'BAD_INPUT', /column 'item_id'/],
    ['an empty catalog', async () => ({ data: await dataDir({ items: [] }), model: fx.model }), 'BAD_INPUT', /the catalog is empty/],
    ['a model whose manifest does not match its ONNX files', async () => {
      const model = path.join(root, `model-${n++}`);
      await fs.cp(fx.model, model, { recursive: true });
      await editJson<{ embeddingDim: number }>(model, 'manifest.json', (m) => ({ ...m, embeddingDim: m.embeddingDim * 2 }));
      return { data: fx.world, model };
    }, 'MODEL_CONTRACT', /embeddingDim|shape|dimension/i],
    ['a model folder holding a link to a file outside it', async () => {
      const model = path.join(root, `model-${n++}`);
      await fs.cp(fx.model, model, { recursive: true });
      await fs.symlink(path.join(fx.world, 'items.arrow'), path.join(model, 'notes.txt'));
      return { data: fx.world, model };
    }, 'STORE', /model\/notes\.txt: is a symbolic link/],
  ];
  it.each(cases)('%s', async (name, make, code, message) => {
    const msg = await expectNothingPublished(make, code, message);
    refusals.push(`build with ${name} → ${code}: ${msg.slice(0, 140)}`);
  });

  it('reports every refusal', () => {
    report('hostile files', `${refusals.length} cases refused, ranker alive throughout:\n  ${refusals.join('\n  ')}`);
    expect(ranker.child.exitCode).toBeNull();
    expect(refusals.length).toBeGreaterThan(50);
  });
});
