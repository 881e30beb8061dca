/**
 * The benchmark's open-loop generator reads responses itself (raw sockets, no HTTP client): it must
 * count every status, find the degraded marker in bodies, and send every request of its pool.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGeneratorProcess } from '../../bench/generatorProcess.js';
import { runOpenLoop } from '../../bench/openLoop.js';

let server: http.Server;
let url = '';
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(body);
      const n = JSON.parse(body).n as number;
      if (n % 5 === 0) {
        const text = '{"error":"overloaded"}';
        res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Retry-After': '1' });
        res.end(text);
        return;
      }
      // Upper-case header name on odd requests: the generator must read either spelling.
      const text = JSON.stringify({ n, degraded: n % 2 === 0, pad: 'x'.repeat(n % 7 === 0 ? 70_000 : 10) });
      res.setHeader(n % 2 ? 'Content-Length' : 'content-length', Buffer.byteLength(text));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/rank`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

type Run = typeof runOpenLoop;

/** The same run in this process and in the generator's own process must count alike. */
const runners: Array<[string, () => { run: Run; stop: () => Promise<void> }]> = [
  ['runOpenLoop, in this process', () => ({ run: runOpenLoop, stop: async () => {} })],
  [
    'startGeneratorProcess, in a child process',
    () => {
      const g = startGeneratorProcess();
      return { run: (opts) => g.run(opts as Parameters<typeof g.run>[0]), stop: () => g.stop() };
    },
  ],
];

describe.each(runners)('%s', (_name, start) => {
  it('counts statuses and marked bodies over keep-alive sockets, large bodies included', async () => {
    let made = 0;
    seen.length = 0;
    const g = start();
    const r = await g.run({ url, rate: 400, durationS: 0.5, connections: 4, bodyPool: 40, body: () => JSON.stringify({ n: made++ }), countContaining: '"degraded":true' }).finally(() => g.stop());
    expect(made).toBe(40);
    expect(r.sent).toBe(200);
    expect(r.completed).toBe(200);
    expect(r.errors).toBe(0);
    // Each body of the pool went out 5 times; the server's answers follow from the body alone.
    const ns = seen.map((b) => JSON.parse(b).n as number);
    const shed = ns.filter((n) => n % 5 === 0).length;
    const degraded = ns.filter((n) => n % 5 !== 0 && n % 2 === 0).length;
    expect(r.statusCounts).toEqual({ 200: 200 - shed, 503: shed });
    expect(r.non2xx).toBe(shed);
    expect(r.latencies.length).toBe(200 - shed);
    expect(r.contained).toBe(degraded);
    expect(degraded).toBeGreaterThan(0);
    expect(new Set(ns).size).toBe(40);
    expect(r.latencies).toBeInstanceOf(Float64Array);
    expect(r.maxSendLagMs).toBeGreaterThanOrEqual(0);
  });
});

describe('startGeneratorProcess', () => {
  it('rejects a run that cannot connect, naming the cause, and stays usable', async () => {
    const g = startGeneratorProcess();
    try {
      const closed = await new Promise<number>((resolve) => {
        const s = http.createServer().listen(0, '127.0.0.1', () => {
          const port = (s.address() as AddressInfo).port;
          s.close(() => resolve(port));
        });
      });
      await expect(g.run({ url: `http://127.0.0.1:${closed}/v1/rank`, rate: 10, durationS: 0.1, connections: 1, bodyPool: 1, body: () => '{"n":1}' })).rejects.toThrow(/load generator: .*ECONNREFUSED/);
      const r = await g.run({ url, rate: 100, durationS: 0.1, connections: 1, bodyPool: 1, body: () => '{"n":1}' });
      expect(r.completed).toBe(10);
    } finally {
      await g.stop();
    }
  });
});
