import { describe, expect, it } from 'vitest';
import { RankerMetrics } from '../../ranker/metrics.js';

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
    m.observeScoringBatch(3, 0.0007);
    m.observeScoringBatch(64, 0.012);
    const withBatches = await m.render();
    expect(withBatches).toContain('twotower_scoring_batch_requests_bucket{le="4"} 1');
    expect(withBatches).toContain('twotower_scoring_batch_requests_sum 67');
    expect(withBatches).toContain('twotower_scoring_batch_seconds_bucket{le="0.001"} 1');
    expect(withBatches).toContain('twotower_scoring_batch_seconds_count 2');
    // A second scrape adds nothing twice.
    m.observeRank('precomputed', {}, undefined);
    expect(await m.render()).toContain('twotower_rank_requests_total{source="precomputed"} 3');
  });
});
