/**
 * Compiles sessionDots.wat into sessionDotsWasm.ts, the module's bytes as base64, so that the
 * runtime needs no WebAssembly toolchain and no file beside the compiled code (the TypeScript
 * sources under vitest and dist/ under node both import it). Run by `npm run build:kernels`;
 * test/kernels/sessionDots.test.ts fails when the committed bytes are not what the .wat compiles to.
 *
 * wabt is a devDependency: only this script and that test load it.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import wabt from 'wabt';

/** The source directory: this file's own under vitest, shared/kernels from dist/shared/kernels. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = existsSync(path.join(HERE, 'sessionDots.wat')) ? HERE : path.resolve(HERE, '../../../shared/kernels');
export const WAT_FILE = path.join(SOURCE_DIR, 'sessionDots.wat');
export const MODULE_FILE = path.join(SOURCE_DIR, 'sessionDotsWasm.ts');

export async function compileSessionDots(watFile = WAT_FILE): Promise<Uint8Array> {
  const tools = await wabt();
  // Shared memory is the threads feature, v128 the simd one. V8 validates the result when it
  // compiles it; wabt's own validate() refuses shared memories whatever the features say.
  const mod = tools.parseWat(path.basename(watFile), await readFile(watFile, 'utf8'), { simd: true, threads: true });
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

export function moduleText(bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,100}/g) ?? [];
  return [
    '// Generated from sessionDots.wat by `npm run build:kernels` (shared/kernels/generateKernels.ts). Do not edit.',
    'export const SESSION_DOTS_WASM_BASE64 =',
    lines.map((l) => `  '${l}'`).join(' +\n') + ';',
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bytes = await compileSessionDots();
  await writeFile(MODULE_FILE, moduleText(bytes));
  console.log(`${path.relative(process.cwd(), MODULE_FILE)}: ${bytes.length} bytes of WebAssembly`);
}
