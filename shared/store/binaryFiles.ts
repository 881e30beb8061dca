/** Raw little-endian typed-array files: the cheapest format to write at build and map at load. */
import { promises as fs } from 'node:fs';
import { TwoTowerError } from '../errors.js';

export async function writeFloat32File(file: string, data: Float32Array): Promise<void> {
  await fs.writeFile(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * `name` is how messages call the file (default: its path). `into` reads it into memory of the
 * caller's choosing, given the file's size: shared memory, so that worker threads can read it
 * without a copy (the ranker's scoring worker reads the item embeddings).
 */
export async function readFloat32File(file: string, expectedLength?: number, name = file, opts: { into?: (byteLength: number) => Uint8Array } = {}): Promise<Float32Array> {
  let buf: Uint8Array;
  try {
    buf = opts.into ? await readInto(file, opts.into) : await fs.readFile(file);
  } catch (err) {
    throw new TwoTowerError('STORE', `${name}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (buf.byteLength % 4 !== 0) throw new TwoTowerError('STORE', `${name}: size ${buf.byteLength} is not a whole number of float32 values`);
  const out =
    buf.byteOffset % 4 === 0
      ? new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
      : new Float32Array(new Uint8Array(buf).buffer.slice(0));
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new TwoTowerError('STORE', `${name}: holds ${out.length} float32 values, expected ${expectedLength}`);
  }
  return out;
}

/** The whole file in the bytes `allocate` gives for its size. */
async function readInto(file: string, allocate: (byteLength: number) => Uint8Array): Promise<Uint8Array> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = allocate(size);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await handle.read(bytes, at, size - at, at);
      if (bytesRead === 0) throw Object.assign(new Error(`short read at ${at} of ${size}`), { code: 'EIO' });
      at += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

export async function readJsonFile<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new TwoTowerError('STORE', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    // V8 says "... in JSON at position 30"; the comma form reads the same and cannot be taken
    // for a stack frame ("at ...") by whoever scans messages that reach clients.
    throw new TwoTowerError('STORE', `${file}: not valid JSON (${(err as Error).message.replace(/ at position (\d+)/, ', position $1')})`);
  }
}
