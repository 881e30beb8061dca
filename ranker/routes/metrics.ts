/** GET /metrics: Prometheus text exposition of the app's own registry. */
import type { FastifyInstance } from 'fastify';
import type { RankerMetrics } from '../metrics.js';

export function registerMetricsRoute(app: FastifyInstance, metrics: RankerMetrics): void {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_req, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}
