/**
 * JSON Schemas of the ranker's routes: Fastify validates bodies and serialises responses with
 * them, so the wire contract lives here and nowhere else.
 */
export const MAX_K = 1000;
export const DEFAULT_K = 10;
export const MAX_SESSION_ITEMS = 1000;
export const MAX_EXCLUDE = 10_000;

/** The /v1/rank body after validation (defaults applied by the validator). */
export interface RankBody {
  userId: string;
  k?: number;
  session?: { items?: string[] };
  exclude?: string[];
}

export const rankBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['userId'],
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 256 },
    k: { type: 'integer', minimum: 1, maximum: MAX_K, default: DEFAULT_K },
    session: {
      type: 'object',
      additionalProperties: false,
      properties: {
        items: { type: 'array', maxItems: MAX_SESSION_ITEMS, items: { type: 'string' } },
      },
    },
    exclude: { type: 'array', maxItems: MAX_EXCLUDE, items: { type: 'string' } },
  },
} as const;

const stringList = { type: 'array', items: { type: 'string' } } as const;

export const rankResponseSchema = {
  type: 'object',
  required: ['userId', 'items', 'source', 'degraded', 'indexVersion', 'modelVersion', 'tookMs'],
  properties: {
    userId: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['itemId', 'score', 'retrievalScore'],
        properties: {
          itemId: { type: 'string' },
          score: { type: 'number' },
          retrievalScore: { type: 'number' },
        },
      },
    },
    source: { type: 'string', enum: ['precomputed', 'cold_start', 'popular'] },
    degraded: { type: 'boolean' },
    indexVersion: { type: 'string' },
    modelVersion: { type: 'string' },
    tookMs: { type: 'number' },
    timingsMs: {
      type: 'object',
      properties: {
        resolve: { type: 'number' },
        candidates: { type: 'number' },
        filter: { type: 'number' },
        features: { type: 'number' },
        score: { type: 'number' },
        order: { type: 'number' },
      },
    },
    ignored: {
      type: 'object',
      required: ['session', 'exclude'],
      properties: { session: stringList, exclude: stringList },
    },
  },
} as const;

export const errorResponseSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const healthResponseSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;

export const readyResponseSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, indexVersion: { type: 'string' } },
} as const;
