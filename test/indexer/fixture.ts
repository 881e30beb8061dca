/**
 * What the indexer tests share: a small seeded world (1500 items × 600 users) and a starter model
 * trained on it for two epochs. Trained once and cached under the OS temp folder, keyed by a hash
 * of the generator and trainer sources, so test files (each in its own process) and reruns reuse
 * it and a change to either source retrains it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainModel } from '../../models/train/trainModel.js';
import { generateWorld, writeWorld } from '../../shared/data/generate.js';

const ROOT = path.resolve(__dirname, '../..');
export const SEED = 3;
export const ITEMS = 1500;
export const USERS = 600;

export interface SharedFixture {
  world: string;
  model: string;
}

export async function sharedFixture(): Promise<SharedFixture> {
  const key = await sourcesHash(['shared/data', 'models']);
  const dir = path.join(os.tmpdir(), `twotower-indexer-fixture-${key}`);
  const done = { world: path.join(dir, 'world'), model: path.join(dir, 'model') };
  if (await exists(path.join(dir, 'READY'))) return done;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'twotower-indexer-fixture-tmp-'));
  const world = generateWorld({ items: ITEMS, users: USERS, seed: SEED });
  await writeWorld(path.join(tmp, 'world'), world);
  await trainModel(world, path.join(tmp, 'model'), { dim: 16, epochs: 2, seed: SEED });
  await fs.writeFile(path.join(tmp, 'READY'), '');
  try {
    await fs.rename(tmp, dir);
  } catch {
    // Another test file got there first with the same sources: theirs is as good as ours.
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return done;
}

async function sourcesHash(dirs: string[]): Promise<string> {
  const h = createHash('sha1');
  for (const d of dirs) {
    const files = (await fs.readdir(path.join(ROOT, d), { recursive: true })).filter((f) => f.endsWith('.ts')).sort();
    for (const f of files) h.update(f).update(await fs.readFile(path.join(ROOT, d, f)));
  }
  return h.digest('hex').slice(0, 12);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** A copy of a data folder that a test may damage. */
export async function copyWorld(from: string, to: string): Promise<string> {
  await fs.cp(from, to, { recursive: true });
  return to;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');
const ENTRY = path.join(ROOT, 'test', 'indexer', 'cliEntry.ts');

/** Starts `twotower <args>` from the sources in a child process (JSON logs, since stderr is a pipe). */
export function startCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(VITE_NODE, [ENTRY, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
