/** Builds (or confirms) the cached benchmark version without running load: `node dist/bench/buildOnly.js [--dir D] [--rebuild]`. */
import path from 'node:path';
import { ensureBenchVersion } from './benchVersion.js';
import { BENCH_DIR, BENCH_PARAMS } from './params.js';

const at = process.argv.indexOf('--dir');
const dir = at >= 0 ? process.argv[at + 1] : BENCH_DIR;
const v = await ensureBenchVersion(path.resolve(dir), BENCH_PARAMS, process.argv.includes('--rebuild'));
console.log(`version ${v.versionId} in ${v.store}${v.buildSeconds === null ? ' (cached)' : ` built in ${v.buildSeconds}s`}`);
