/**
 * Runs one request through the whole pipeline before a version takes traffic, so the first real
 * request does not pay for cold ONNX sessions, page faults in the embeddings and the HNSW graph,
 * or JIT compilation of the stages. A version whose ranker cannot score is refused here, where
 * refusing is cheap, rather than found out under load.
 */
import { TwoTowerError } from '../shared/errors.js';
import type { LoadedVersion } from '../shared/store/types.js';
import { rank } from './pipeline/rank.js';
import type { PipelineLogger, RankResult } from './pipeline/types.js';

/** An id no real user has: without a precomputed list, the warm-up exercises the live path. */
export const WARMUP_USER = '__twotower_warmup__';

export async function warmVersion(version: LoadedVersion, log: PipelineLogger = silentLog): Promise<RankResult> {
  const first = version.popular.length > 0 ? version.itemIds[version.popular[0]] : undefined;
  const problems: string[] = [];
  const recorder: PipelineLogger = {
    warn(obj, msg) {
      problems.push(msg);
      log.warn(obj, msg);
    },
  };
  const result = await rank(
    { version, log: recorder },
    { userId: WARMUP_USER, k: 10, sessionItems: first === undefined ? [] : [first], exclude: [] },
  );
  if (result.degraded) {
    throw new TwoTowerError('MODEL_CONTRACT', `version ${version.id} failed its warm-up request: ${problems.join('; ')}`);
  }
  return result;
}

const silentLog: PipelineLogger = { warn() {} };
