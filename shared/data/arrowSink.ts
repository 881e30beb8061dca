/**
 * Writes an Arrow IPC file batch by batch with bounded memory.
 *
 * apache-arrow's RecordBatchWriter pushes its bytes into an internal queue that is only drained
 * when someone reads it; a producer writing millions of rows would keep everything in memory.
 * Giving the writer our own AsyncByteQueue lets us take the bytes of each batch as soon as they
 * are produced and await the disk before the next batch is built.
 */
import fs from 'node:fs/promises';
import {
  AsyncByteQueue,
  Field,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  type DataType,
  type TypeMap,
  type Vector,
} from 'apache-arrow';

class ChunkCollector extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    // Chunks may be views of the batch's own buffers: they are written out before the batch is
    // released, so no copy is needed.
    if (value.byteLength > 0) this.chunks.push(value);
  }
}

export class ArrowFileSink {
  private readonly collector = new ChunkCollector();
  private readonly writer = new RecordBatchFileWriter();
  private rows = 0;
  private closed = false;

  private constructor(
    readonly file: string,
    readonly schema: Schema<TypeMap>,
    private readonly handle: fs.FileHandle,
  ) {
    this.writer.reset(this.collector, schema);
  }

  static async open(file: string, fields: Field<DataType>[]): Promise<ArrowFileSink> {
    const handle = await fs.open(file, 'w');
    return new ArrowFileSink(file, new Schema(fields), handle);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Columns in schema order, all of the same length. */
  async write(columns: Vector<DataType>[]): Promise<void> {
    const length = columns.length ? columns[0].length : 0;
    const children = columns.map((c, i) => {
      if (c.length !== length) throw new RangeError(`column ${this.schema.fields[i].name} has ${c.length} rows, expected ${length}`);
      // One contiguous chunk per column: vectors built in one go have exactly one.
      if (c.data.length !== 1) throw new RangeError(`column ${this.schema.fields[i].name} is chunked`);
      return c.data[0];
    });
    const data = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children });
    this.writer.write(new RecordBatch(this.schema, data));
    this.rows += length;
    await this.flush();
  }

  /** Writes the footer and closes the file. A file with no rows still gets its schema. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.rows === 0) {
        // Without a batch the writer never starts and would leave an empty file.
        const data = makeData({ type: new Struct(this.schema.fields), length: 0, nullCount: 0, children: this.schema.fields.map((f) => makeData({ type: f.type, length: 0 })) });
        this.writer.write(new RecordBatch(this.schema, data));
      }
      this.writer.close();
      await this.flush();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes the file without a footer after a failure (the partial file is not valid Arrow). */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    const chunks = this.collector.chunks;
    if (chunks.length === 0) return;
    this.collector.chunks = [];
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    // Few chunks per batch in practice; joining guards against the OS limit on iovecs.
    let written = chunks.length > 256 ? 0 : (await this.handle.writev(chunks)).bytesWritten;
    if (written < total) {
      // A short write (or too many chunks): write the rest as one buffer until done.
      const rest = Buffer.concat(chunks).subarray(written);
      let off = 0;
      while (off < rest.length) off += (await this.handle.write(rest, off)).bytesWritten;
      written = total;
    }
  }
}
