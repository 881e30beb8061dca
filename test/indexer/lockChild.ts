/**
 * A process that races for build locks: for each round r it waits until startAt + r × 250 ms, tries
 * to take the lock of store <base>/<r>, keeps it if it wins, and prints one word per round: 'won'
 * or the error code. Winners hold their locks (and stay alive) until every process has finished
 * every round: on a loaded machine a slow process may reach a round after the others are done.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { acquireBuildLock, type BuildLock } from '../../shared/store/buildLock.js';
import { TwoTowerError } from '../../shared/errors.js';

const [base, startAt, roundsArg, processesArg] = process.argv.slice(2);
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
await fs.writeFile(path.join(base, `done-${process.pid}`), '');
while ((await fs.readdir(base)).filter((f) => f.startsWith('done-')).length < Number(processesArg)) await until(Date.now() + 50);
for (const l of held) await l.release();
process.stdout.write(out.join(' ') + '\n');
