/**
 * The CLI's error → exit code mapping (shared/cli/run.ts): a storage failure surfacing from a build
 * (a full disk, a quota, a failing or read-only device, out of descriptors) is a store error, exit
 * 5, in one `twotower:` line naming the path and the cause; anything else untyped stays internal.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { action, cliError } from '../../shared/cli/run.js';
import { EXIT_CODES, InputError, StoreError, exitCodeFor } from '../../shared/errors.js';

/** A Node file-system error as fs throws it. */
function fsError(code: string, syscall: string, extra: { path?: string; dest?: string } = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, ${syscall}`), { code, errno: -1, syscall, ...extra });
}

async function runAction(err: unknown): Promise<{ code: number | undefined; lines: string[] }> {
  const writes: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  const before = process.exitCode;
  try {
    await action(async () => {
      throw err;
    })();
    return { code: process.exitCode as number | undefined, lines: writes.join('').split('\n').filter(Boolean) };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('CLI error mapping', () => {
  const cases: [string, string, string][] = [
    ['ENOSPC', 'no space left on device', 'write'],
    ['EDQUOT', 'disk quota exceeded', 'write'],
    ['EIO', 'input/output error', 'fsync'],
    ['EROFS', 'read-only file system', 'open'],
    ['EMFILE', 'too many open files', 'open'],
  ];
  for (const [code, cause, syscall] of cases) {
    it(`${code} from a build is a store error (exit 5) in one twotower: line with the path and "${cause}"`, async () => {
      const { code: exit, lines } = await runAction(fsError(code, syscall, { path: '/store/tmp/v1/items.f32' }));
      expect(exit).toBe(EXIT_CODES.STORE);
      expect(exit).toBe(5);
      expect(lines).toEqual([`twotower: STORE: /store/tmp/v1/items.f32: ${cause} (${code}, during ${syscall})`]);
    });
  }

  it('names the destination of a failed copy, and says when the system call named no file', () => {
    const copy = cliError(fsError('ENOSPC', 'copyfile', { path: '/models/m/model.onnx', dest: '/store/tmp/v1/model/model.onnx' }));
    expect(copy).toBeInstanceOf(StoreError);
    expect((copy as StoreError).message).toBe('/store/tmp/v1/model/model.onnx: no space left on device (ENOSPC, during copyfile)');
    const bare = cliError(fsError('ENOSPC', 'write'));
    expect((bare as StoreError).message).toMatch(/^\(the system call named no file\): no space left on device \(ENOSPC, during write\)$/);
    expect(exitCodeFor(fsError('EDQUOT', 'write'))).toBe(5);
  });

  it('leaves other errors as they were: typed ones keep their code, other fs codes stay internal', async () => {
    const input = new InputError({ file: 'items.csv', row: 3 }, 'bad value');
    expect(cliError(input)).toBe(input);
    expect((await runAction(input)).code).toBe(EXIT_CODES.BAD_INPUT);

    const notFound = fsError('ENOENT', 'open', { path: '/x' });
    expect(cliError(notFound)).toBe(notFound);
    const r = await runAction(notFound);
    expect(r.code).toBe(EXIT_CODES.INTERNAL);
    expect(r.lines[0]).toMatch(/^twotower: internal error: /);
    expect(exitCodeFor(new Error('plain'))).toBe(1);
  });
});
