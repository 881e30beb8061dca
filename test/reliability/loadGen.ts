/**
 * The reliability suite's load generator: raw keep-alive HTTP/1.1 sockets (node:http's client
 * costs about half a millisecond of CPU per request, which on 2 cores would make the generator the
 * bottleneck), in two modes:
 *
 * - open loop: requests are released on a fixed schedule whether or not earlier ones were
 *   answered, and latency runs from the release, so a slow server cannot hide its queue
 *   (coordinated omission). The same idea as bench/openLoop.ts, which records only 2xx latencies;
 *   this one keeps every status apart (a 503 must be fast too), the indexVersion of each answer,
 *   and the bodies of failures.
 * - closed loop: each connection sends its next request as soon as the last is answered; its
 *   throughput is the service's capacity at that concurrency.
 *
 * It runs in its own process (loadChild.ts) so that it and the server do not share an event loop.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  url: string;
  path: string;
  mode: 'open' | 'closed';
  /** Open loop: requests per second. */
  rate?: number;
  durationS: number;
  connections: number;
  /** Request bodies, used in turn. */
  bodies: string[];
  /** Also return each 2xx answer's release time and latency (for latency around given moments). */
  timeline?: boolean;
}

/** Ends a run early: the open loop releases nothing more, the closed loop sends nothing more. */
export interface StopSignal {
  stopped: boolean;
}

export interface LoadResult {
  sent: number;
  completed: number;
  /** Requests lost with a broken connection, or answers that could not be read. */
  errors: number;
  elapsedS: number;
  statusCounts: Record<string, number>;
  /** Latencies in ms by class, sorted ascending. */
  okMs: number[];
  shedMs: number[];
  otherMs: number[];
  /** With `timeline`: [release time (epoch ms), latency ms] of each 2xx answer, in answer order. */
  okTimeline: [number, number][];
  /** indexVersion of each 2xx answer → count. */
  versions: Record<string, number>;
  degraded: number;
  /** Up to 20 bodies of answers that were neither 2xx nor 503. */
  failures: string[];
  /** How far (ms) the open-loop release fell behind schedule at worst: the generator's own lag. */
  maxReleaseLagMs: number;
  generatorCpuS: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const VERSION = /"indexVersion":"([^"]+)"/;

interface Conn {
  socket: net.Socket;
  due: number | null;
  buf: Buffer;
  dead: boolean;
}

export async function runLoad(opts: LoadOptions, stop: StopSignal = { stopped: false }): Promise<LoadResult> {
  const target = new URL(opts.url);
  const port = Number(target.port);
  const head = (len: number) =>
    `POST ${opts.path} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;
  const res: LoadResult = {
    sent: 0,
    completed: 0,
    errors: 0,
    elapsedS: 0,
    statusCounts: {},
    okMs: [],
    shedMs: [],
    otherMs: [],
    okTimeline: [],
    versions: {},
    degraded: 0,
    failures: [],
    maxReleaseLagMs: 0,
    generatorCpuS: 0,
  };
  let bodyIndex = 0;
  const nextBody = () => opts.bodies[bodyIndex++ % opts.bodies.length];
  const open = opts.mode === 'open';
  const rate = opts.rate ?? 0;
  if (open && !(rate > 0)) throw new Error('open loop needs a rate');
  let total = open ? Math.round(rate * opts.durationS) : Infinity;
  const interval = open ? 1000 / rate : 0;
  const waiting: number[] = [];
  let waitHead = 0;
  const idle: Conn[] = [];
  let start = 0;
  let stopAt = Infinity;
  let finish: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    finish = r;
  });
  let inFlight = 0;
  const settle = () => {
    if (open ? res.sent === total && inFlight === 0 : (performance.now() >= stopAt || stop.stopped) && inFlight === 0) finish();
  };

  const send = (conn: Conn, due: number) => {
    conn.due = due;
    inFlight++;
    const payload = nextBody();
    conn.socket.write(head(Buffer.byteLength(payload)) + payload);
  };
  const release = (conn: Conn) => {
    conn.due = null;
    if (open) {
      if (waitHead < waiting.length) send(conn, waiting[waitHead++]);
      else idle.push(conn);
    } else if (performance.now() < stopAt && !stop.stopped) {
      res.sent++;
      send(conn, performance.now());
    }
  };
  const onData = (conn: Conn, chunk: Buffer) => {
    conn.buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
    for (;;) {
      const end = conn.buf.indexOf(HEADER_END);
      if (end < 0 || conn.due === null) return;
      const headText = conn.buf.toString('latin1', 0, end);
      const status = Number(headText.slice(9, 12));
      const lenMatch = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
      if (!lenMatch) {
        res.errors++;
        inFlight--;
        conn.due = null;
        conn.dead = true;
        conn.socket.destroy();
        settle();
        return;
      }
      const bodyEnd = end + 4 + Number(lenMatch[1]);
      if (conn.buf.length < bodyEnd) return;
      const ms = performance.now() - conn.due;
      const body = conn.buf.toString('utf8', end + 4, bodyEnd);
      res.statusCounts[status] = (res.statusCounts[status] ?? 0) + 1;
      res.completed++;
      inFlight--;
      if (status >= 200 && status < 300) {
        res.okMs.push(ms);
        if (opts.timeline) res.okTimeline.push([performance.timeOrigin + conn.due, ms]);
        const v = VERSION.exec(body)?.[1] ?? '(none)';
        res.versions[v] = (res.versions[v] ?? 0) + 1;
        if (body.includes('"degraded":true')) res.degraded++;
      } else if (status === 503) res.shedMs.push(ms);
      else {
        res.otherMs.push(ms);
        if (res.failures.length < 20) res.failures.push(`${status} ${body.slice(0, 300)}`);
      }
      conn.buf = conn.buf.subarray(bodyEnd);
      release(conn);
      settle();
    }
  };

  const conns: Conn[] = [];
  const opened = await Promise.all(
    Array.from(
      { length: opts.connections },
      () =>
        new Promise<Conn>((resolve, reject) => {
          const socket = net.connect(port, target.hostname, () => resolve(conn));
          socket.setNoDelay(true);
          const conn: Conn = { socket, due: null, buf: Buffer.alloc(0), dead: false };
          socket.on('data', (c: Buffer) => onData(conn, c));
          socket.once('error', (err) => {
            if (start === 0) reject(err);
          });
          socket.on('close', () => {
            conn.dead = true;
            // A request lost with its connection is an error; the connection is not replaced.
            if (conn.due !== null) {
              conn.due = null;
              inFlight--;
              res.errors++;
              if (res.failures.length < 20) res.failures.push('connection closed with a request outstanding');
              settle();
            }
            if (start !== 0 && conns.every((c) => c.dead)) {
              // Nothing left to send on: what was never sent or still waits counts as failed.
              const lost = (open ? total - res.sent : 0) + (waiting.length - waitHead);
              res.errors += lost;
              res.sent += open ? total - res.sent : 0;
              waitHead = waiting.length;
              inFlight = 0;
              finish();
            }
          });
        }),
    ),
  );

  conns.push(...opened);
  const cpu0 = process.cpuUsage();
  start = performance.now();
  if (open) {
    idle.push(...conns);
    const tick = () => {
      const now = performance.now();
      if (stop.stopped) total = res.sent;
      // Every request that has come due leaves now; a late tick catches up rather than quietly
      // lowering the rate.
      while (res.sent < total && start + res.sent * interval <= now) {
        res.maxReleaseLagMs = Math.max(res.maxReleaseLagMs, now - (start + res.sent * interval));
        res.sent++;
        let conn = idle.pop();
        while (conn?.dead) conn = idle.pop();
        if (conn) send(conn, now);
        else waiting.push(now);
      }
      if (res.sent >= total) return settle();
      setTimeout(tick, Math.max(1, Math.floor(start + res.sent * interval - performance.now())));
    };
    tick();
  } else {
    stopAt = start + opts.durationS * 1000;
    for (const c of conns) {
      res.sent++;
      send(c, performance.now());
    }
    // Wakes settle() after the stop time in case the last answers came before it.
    setTimeout(settle, opts.durationS * 1000 + 5).unref();
  }
  await allDone;
  res.elapsedS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  res.generatorCpuS = (cpu.user + cpu.system) / 1e6;
  for (const c of conns) c.socket.destroy();
  for (const a of [res.okMs, res.shedMs, res.otherMs]) a.sort((x, y) => x - y);
  return res;
}

/** Nearest-rank percentile q (0..100) of a sorted array; NaN when empty. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[i];
}
