/** Builds (or confirms) the cached benchmark version without running load: `node dist/bench/buildOnly.js`. */
import path from 'node:path';
import { ensureBenchVersion } from './benchVersion.js';
import { BENCH_DIR, BENCH_PARAMS } from './params.js';

const v = await ensureBenchVersion(path.resolve(BENCH_DIR), BENCH_PARAMS, process.argv.includes('--rebuild'));
console.log(`version ${v.versionId} in ${v.store}${v.buildSeconds === null ? ' (cached)' : ` built in ${v.buildSeconds}s`}`);
