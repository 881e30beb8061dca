/**
 * Line-by-line reading of text files (JSONL, MovieLens' '::', '|' and tab files).
 *
 * Lines come in batches: an async step per line costs more than parsing a MovieLens rating, and
 * ml-25m has 25M of them. LF and CRLF both end a line. The encoding matters because old
 * MovieLens files are Latin-1; the stream decoder keeps multi-byte UTF-8 characters intact
 * across chunk boundaries.
 */
import fs from 'node:fs';
import { InputError } from '../errors.js';

export interface LineBatch {
  /** 1-based physical line number of lines[0]. */
  firstLine: number;
  lines: string[];
}

export async function* readLineBatches(file: string, encoding: BufferEncoding = 'utf8', maxLines = 65536): AsyncGenerator<LineBatch> {
  const input = fs.createReadStream(file, { encoding, highWaterMark: 1 << 20 });
  let rest = '';
  let lineNo = 1;
  let first = true;
  let pending: string[] = [];
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let text = rest + chunk;
      // A UTF-8 byte order mark would otherwise stick to the first field.
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) pending.push(p.endsWith('\r') ? p.slice(0, -1) : p);
      while (pending.length >= maxLines) {
        const lines = pending.slice(0, maxLines);
        pending = pending.slice(maxLines);
        yield { firstLine: lineNo, lines };
        lineNo += lines.length;
      }
    }
  } catch (err) {
    throw new InputError({ file }, `cannot read: ${(err as Error).message}`);
  } finally {
    input.destroy();
  }
  if (rest !== '') pending.push(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  if (pending.length) yield { firstLine: lineNo, lines: pending };
}

export interface Line {
  /** 1-based physical line number. */
  number: number;
  text: string;
}

export async function* readLines(file: string, encoding: BufferEncoding = 'utf8'): AsyncGenerator<Line> {
  for await (const { firstLine, lines } of readLineBatches(file, encoding)) {
    for (let i = 0; i < lines.length; i++) yield { number: firstLine + i, text: lines[i] };
  }
}
