/**
 * A process that races for build locks: for each round r it waits until startAt + r × 250 ms, tries
 * to take the lock of store <base>/<r>, keeps it if it wins, and prints one word per round: 'won'
 * or the error code. Winners hold their locks until every round is over.
 */
import path from 'node:path';
import { acquireBuildLock, type BuildLock } from '../../shared/store/buildLock.js';
import { TwoTowerError } from '../../shared/errors.js';

const [base, startAt, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const held: BuildLock[] = [];
const out: string[] = [];
const until = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
for (let r = 0; r < rounds; r++) {
  await until(Number(startAt) + r * 250);
  try {
    held.push(await acquireBuildLock(path.join(base, String(r))));
    out.push('won');
  } catch (err) {
    out.push(err instanceof TwoTowerError ? err.code : String(err));
  }
}
await until(Number(startAt) + rounds * 250 + 300);
for (const l of held) await l.release();
process.stdout.write(out.join(' ') + '\n');
