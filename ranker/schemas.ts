/**
 * JSON Schemas of the ranker's routes: Fastify validates bodies and serialises responses with
 * them, and @fastify/swagger turns them into the OpenAPI document, so the wire contract lives
 * here and nowhere else.
 */
import { RANK_FEATURES, type RankFeatureName } from '../shared/rankFeatures.js';

export const MAX_K = 1000;
export const DEFAULT_K = 10;
export const MAX_SESSION_ITEMS = 1000;
export const MAX_EXCLUDE = 10_000;
/** A caller's own list is scored in one ranker call; past this it would blow the latency budget. */
export const MAX_CALLER_CANDIDATES = 1000;

/** The /v1/rank body after validation (defaults applied by the validator). */
export interface RankBody {
  userId: string;
  k?: number;
  session?: { items?: string[]; context?: Record<string, unknown> };
  exclude?: string[];
  candidates?: string[];
  explain?: boolean;
}

const itemIdList = (maxItems: number, description: string) =>
  ({ type: 'array', maxItems, items: { type: 'string' }, description }) as const;

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
        items: itemIdList(MAX_SESSION_ITEMS, 'item ids seen in this session, most recent last'),
        // Free-form on purpose: clients send what their surface knows (device, page, locale);
        // accepting it now lets a later model use it without a breaking API change.
        context: { type: 'object', description: 'request context (device, surface, …); accepted, not yet used by the ranker' },
      },
    },
    exclude: itemIdList(MAX_EXCLUDE, 'item ids the response must not contain'),
    candidates: itemIdList(MAX_CALLER_CANDIDATES, "the caller's own candidates to re-rank instead of retrieval"),
    explain: { type: 'boolean', default: false, description: 'return the ranker features of each item' },
  },
} as const;

const stringList = { type: 'array', items: { type: 'string' } } as const;

/** One number per RANK_FEATURES name, so explain output names what the model was trained on. */
const featuresSchema = {
  type: 'object',
  properties: Object.fromEntries(RANK_FEATURES.map((f) => [f, { type: 'number' }])) as Record<RankFeatureName, { type: 'number' }>,
} as const;

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
          features: featuresSchema,
        },
      },
    },
    source: { type: 'string', enum: ['precomputed', 'cold_start', 'popular', 'caller'] },
    degraded: { type: 'boolean' },
    degradedReason: { type: 'string', enum: ['deadline', 'ranker_failed', 'retrieval_failed'] },
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
      description: 'request item ids unknown to the serving version, skipped rather than fatal',
      required: ['session', 'exclude'],
      properties: { session: stringList, exclude: stringList, candidates: stringList },
    },
  },
} as const;

export interface SimilarParams {
  itemId: string;
}

export interface SimilarQuery {
  k?: string;
}

export const similarParamsSchema = {
  type: 'object',
  required: ['itemId'],
  properties: { itemId: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

/**
 * k arrives as a string: the app's validator does not coerce types (a JSON body with "5" for 5
 * is a client bug), so the query string is matched as text and converted in the handler.
 */
export const similarQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { k: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: `neighbours to return, 1..${MAX_K} (default ${DEFAULT_K})` } },
} as const;

export const similarResponseSchema = {
  type: 'object',
  required: ['itemId', 'items', 'indexVersion', 'tookMs'],
  properties: {
    itemId: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['itemId', 'score'],
        properties: { itemId: { type: 'string' }, score: { type: 'number' } },
      },
    },
    indexVersion: { type: 'string' },
    tookMs: { type: 'number' },
  },
} as const;

export const reloadResponseSchema = {
  type: 'object',
  required: ['status', 'indexVersion'],
  properties: {
    status: { type: 'string', enum: ['swapped', 'unchanged'] },
    indexVersion: { type: 'string' },
    previousVersion: { type: 'string' },
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
