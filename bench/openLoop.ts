/**
 * An open-loop load generator: requests leave on a fixed schedule (rate per second, evenly
 * spaced) whether or not earlier ones have been answered, and each latency is measured from the
 * moment the request was released, not from when a free connection let it out. That is how
 * traffic from many independent users behaves, and it keeps a slow server from hiding its queue
 * (coordinated omission). Releases happen on a 1 ms timer (spinning to hit each due time exactly
 * would burn the core the server needs), so requests due within a millisecond leave together
 * and the clock starts at release, leaving the timer's slack out of the server's latency.
 *
 * autocannon's --overallRate is not this: each connection sends its per-second quota back to
 * back at the start of every second, so a "fixed rate" run is a saturating burst followed by
 * idleness, and its p99 measures the burst. autocannon still measures the empty-route ceiling
 * (a closed loop, which is what it is good at).
 *
 * It speaks HTTP/1.1 over raw keep-alive sockets: node:http's client costs about half a
 * millisecond of CPU per request, which on a 2-core machine would make the generator, not the
 * server, the bottleneck being measured.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface OpenLoopOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Sockets kept open, one request outstanding on each; a request due while all are busy waits, and that wait counts. */
  connections: number;
  /** Makes one request body; called `bodyPool` times before the clock starts, not per request. */
  body: () => string;
  /**
   * Distinct requests made up front and sent in turn (default 65,536: more than one run at 5,000/s
   * for 8 s sends, so requests in a run do not repeat), so that the generator spends its CPU,
   * which on a 2-core box it takes from the server it measures, on sockets only.
   */
  bodyPool?: number;
  /** Counts 2xx bodies that contain this text (e.g. '"degraded":true'), without decoding them. */
  countContaining?: string;
}

export interface OpenLoopResult {
  sent: number;
  completed: number;
  /** Achieved rate: responses per second over the run. */
  rps: number;
  /** Latencies of 2xx responses, milliseconds, sorted ascending. */
  latencies: Float64Array;
  non2xx: number;
  /** Broken connections and unreadable responses. */
  errors: number;
  statusCounts: Record<string, number>;
  /** 2xx bodies that contained countContaining (0 without it). */
  contained: number;
  /** CPU the generator itself used, in seconds (to show it was not the bottleneck). */
  generatorCpuS: number;
  /**
   * How late, at worst, the generator sent a request after its scheduled time, in milliseconds.
   * A stall of the generator's own (its GC, the neighbours) sends what came due meanwhile as one
   * burst, which the server then sees as a spike in requests in flight; this tells such a run apart
   * from one where the server stalled.
   */
  maxSendLagMs: number;
}

/** Latency percentile q (0..100) of a sorted array, nearest rank. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[i];
}

const HEADER_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const READ_BUFFER_BYTES = 64 * 1024;
const CONTENT_LENGTH = Buffer.from('\r\ncontent-length:');
const CONTENT_LENGTH_UPPER = Buffer.from('\r\nContent-Length:');

/** The value of the Content-Length header in buf's head (bytes 0..end), or -1 when it has none. */
function contentLength(buf: Buffer, end: number): number {
  const headBytes = buf.subarray(0, end + 2);
  let at = headBytes.indexOf(CONTENT_LENGTH);
  if (at < 0) at = headBytes.indexOf(CONTENT_LENGTH_UPPER);
  if (at < 0) return -1;
  let i = at + CONTENT_LENGTH.length;
  while (buf[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; buf[i] >= 0x30 && buf[i] <= 0x39; i++, digits++) n = n * 10 + (buf[i] - 0x30);
  return digits > 0 ? n : -1;
}

/** Status code of an HTTP/1.1 response head ("HTTP/1.1 200 ..."). */
function statusOf(buf: Buffer): number {
  return (buf[9] - 0x30) * 100 + (buf[10] - 0x30) * 10 + (buf[11] - 0x30);
}

interface Conn {
  socket: net.Socket;
  /** When the outstanding request was released; null when idle. */
  due: number | null;
  buf: Buffer;
}

/** Requests ready to send: HTTP/1.1 requests back to back in one buffer, and their end offsets. */
export interface RequestPool {
  bytes: Uint8Array;
  /** Request i is bytes[ends[i]..ends[i + 1]); ends.length is the count + 1. */
  ends: Int32Array;
}

/**
 * Makes `opts.bodyPool` requests for `opts.url`, calling `opts.body` once for each.
 * One buffer of all the requests back to back (and their offsets), not one Buffer each: tens of
 * thousands of long-lived objects would make the generator's own garbage collections, which
 * delay reading responses and so count as latency, longer. Built before the clock starts (or in
 * another process: see generatorProcess.ts).
 */
export function buildRequestPool(opts: Pick<OpenLoopOptions, 'url' | 'body' | 'bodyPool'>): RequestPool {
  const target = new URL(opts.url);
  const head = (len: number) =>
    `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;
  const count = Math.max(1, opts.bodyPool ?? 65_536);
  const ends = new Int32Array(count + 1);
  let pool = Buffer.allocUnsafe(count * 256);
  for (let i = 0; i < count; i++) {
    const payload = opts.body();
    const text = head(Buffer.byteLength(payload)) + payload;
    const need = ends[i] + Buffer.byteLength(text);
    if (need > pool.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * pool.length));
      pool.copy(grown, 0, 0, ends[i]);
      pool = grown;
    }
    ends[i + 1] = ends[i] + pool.write(text, ends[i]);
  }
  return { bytes: pool.subarray(0, ends[count]), ends };
}

/** Runs the schedule; `requests` (a pool built beforehand) stands in for `body` and `bodyPool`. */
export async function runOpenLoop(opts: OpenLoopOptions | (Omit<OpenLoopOptions, 'body'> & { requests: RequestPool })): Promise<OpenLoopResult> {
  const target = new URL(opts.url);
  const port = Number(target.port);
  const { bytes, ends } = 'requests' in opts ? opts.requests : buildRequestPool(opts);
  const pool = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = ends.length - 1;
  let next = Math.floor(Math.random() * count);
  const needle = opts.countContaining ? Buffer.from(opts.countContaining) : null;
  let contained = 0;
  const total = Math.round(opts.rate * opts.durationS);
  const interval = 1000 / opts.rate;
  const latencies = new Float64Array(total);
  const statusCounts: Record<string, number> = {};
  let nLat = 0;
  let completed = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  const waiting: number[] = []; // release times of requests with no free connection yet
  let waitHead = 0;
  const idle: Conn[] = [];
  let finish: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    finish = r;
  });
  const settle = () => {
    if (sent === total && completed + errors === total) finish();
  };

  const send = (conn: Conn, due: number) => {
    conn.due = due;
    conn.socket.write(pool.subarray(ends[next], ends[next + 1]));
    next = next + 1 === count ? 0 : next + 1;
  };
  const release = (conn: Conn) => {
    conn.due = null;
    if (waitHead < waiting.length) send(conn, waiting[waitHead++]);
    else idle.push(conn);
  };
  // `chunk` lies in the connection's read buffer, which the next read overwrites: what is left of
  // it after the loop (a response split across reads) is copied out.
  const onData = (conn: Conn, chunk: Buffer) => {
    let buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0 || conn.due === null) break;
      const status = statusOf(buf);
      const length = contentLength(buf, end);
      if (length < 0) {
        // Without a length the response cannot be delimited (this generator reads no chunked
        // bodies): the request is an error, counted once here and not again when the socket closes.
        conn.due = null;
        conn.buf = EMPTY;
        errors++;
        conn.socket.destroy();
        settle();
        return;
      }
      const bodyEnd = end + 4 + length;
      if (buf.length < bodyEnd) break;
      const ms = performance.now() - conn.due;
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      completed++;
      if (status >= 200 && status < 300) {
        latencies[nLat++] = ms;
        if (needle) {
          const at = buf.indexOf(needle, end + 4);
          if (at >= 0 && at + needle.length <= bodyEnd) contained++;
        }
      } else non2xx++;
      buf = buf.subarray(bodyEnd);
      release(conn);
      settle();
    }
    conn.buf = buf.length === 0 ? EMPTY : Buffer.from(buf);
  };

  const conns = await Promise.all(
    Array.from(
      { length: opts.connections },
      () =>
        new Promise<Conn>((resolve, reject) => {
          // Reads land in one buffer per connection (net's `onread`), not in a new one per read.
          // With a new buffer per read, the benchmark's process ran a 5-18 ms mark-compact every
          // ~2 s at 5,000 responses/s (--trace-gc), and sent what came due during each as a burst;
          // with these, about one per run.
          const onread = {
            buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
            callback: (n: number, b: Uint8Array): boolean => {
              onData(conn, (b as Buffer).subarray(0, n));
              return true; // false would pause the socket
            },
          };
          const socket = net.connect({ port, host: target.hostname, onread }, () => resolve(conn));
          socket.setNoDelay(true);
          const conn: Conn = { socket, due: null, buf: EMPTY };
          socket.once('error', reject);
          socket.on('close', () => {
            // A request lost with its connection is an error; the connection is not replaced,
            // the run goes on with the others.
            if (conn.due !== null) {
              conn.due = null;
              errors++;
              settle();
            }
          });
        }),
    ),
  );
  idle.push(...conns);

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let maxSendLagMs = 0;
  const tick = () => {
    const now = performance.now();
    // Every request that has come due leaves now; a late tick catches up rather than quietly
    // lowering the rate.
    while (sent < total && start + sent * interval <= now) {
      maxSendLagMs = Math.max(maxSendLagMs, now - (start + sent * interval));
      sent++;
      const conn = idle.pop();
      if (conn) send(conn, now);
      else waiting.push(now);
    }
    if (sent >= total) return settle();
    setTimeout(tick, Math.max(1, Math.floor(start + sent * interval - performance.now())));
  };
  tick();
  await allDone;
  const elapsedS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const c of conns) c.socket.destroy();
  const sorted = latencies.slice(0, nLat).sort();
  return { sent, completed, rps: completed / elapsedS, latencies: sorted, non2xx, errors, statusCounts, contained, generatorCpuS: (cpu.user + cpu.system) / 1e6, maxSendLagMs };
}
