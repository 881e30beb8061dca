import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LightHistogram, RankerMetrics } from '../../ranker/metrics.js';

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 1];

describe('LightHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const ref = new Histogram({ name: 'h_seconds', help: 'a help', labelNames: ['route', 'status'], buckets: BUCKETS, registers: [theirs] });
    const light = new LightHistogram('h_seconds', 'a help', BUCKETS);
    ours.registerMetric(light as never);
    const series = new Map<string, ReturnType<LightHistogram['series']>>();
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const routes = ['/v1/rank', 'unmatched', '/v1/similar/:itemId'];
    for (let i = 0; i < 2000; i++) {
      const route = routes[Math.floor(rnd() * routes.length)];
      const status = rnd() < 0.9 ? '200' : '503';
      // Exact bounds, values past the largest bound and zero included.
      const value = i % 97 === 0 ? BUCKETS[i % BUCKETS.length] : i % 101 === 0 ? 3 : i % 103 === 0 ? 0 : rnd() ** 4 / 10;
      ref.observe({ route, status }, value);
      const key = `${route} ${status}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = light.series({ route, status })));
      s.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    theirs.resetMetrics();
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('refuses a non-finite value, as prom-client does', () => {
    const s = new LightHistogram('h', 'h', BUCKETS).series({});
    expect(() => s.observe(NaN)).toThrow(TypeError);
  });
});

describe('RankerMetrics', () => {
  it('counts answers per source and stage timings per stage', async () => {
    const m = new RankerMetrics({ getVersion: () => null });
    m.observeRank('precomputed', { resolve: 0.01, candidates: 0.02, filter: 0.001, features: 0.04, score: 0.05, order: 0.002 }, undefined);
    m.observeRank('precomputed', { resolve: 0.01, candidates: 0.02, filter: 0.001, features: 0.04, order: 0.002 }, 'deadline');
    m.observeRank('popular', { resolve: 0.01 }, undefined);
    m.observeRequest('/v1/rank', 200, 0.0004);
    m.observeRequest('/v1/rank', 200, 0.0006);
    const text = await m.render();
    expect(text).toContain('twotower_rank_requests_total{source="precomputed"} 2');
    expect(text).toContain('twotower_rank_requests_total{source="popular"} 1');
    expect(text).toContain('twotower_rank_requests_total{source="caller"} 0');
    expect(text).toContain('twotower_rank_degraded_total{reason="deadline"} 1');
    expect(text).toContain('twotower_rank_stage_seconds_count{stage="resolve"} 3');
    expect(text).toContain('twotower_rank_stage_seconds_count{stage="score"} 1');
    expect(text).toContain('twotower_rank_stage_seconds_bucket{le="0.00005",stage="resolve"} 3');
    expect(text).toContain('twotower_http_request_seconds_bucket{le="0.0005",route="/v1/rank",status="200"} 1');
    expect(text).toContain('twotower_http_request_seconds_count{route="/v1/rank",status="200"} 2');
    // A second scrape adds nothing twice.
    m.observeRank('precomputed', {}, undefined);
    expect(await m.render()).toContain('twotower_rank_requests_total{source="precomputed"} 3');
  });
});
