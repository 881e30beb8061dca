/**
 * The CLI from its TypeScript sources, for tests that need a real child process (exit codes,
 * SIGKILL): run with vite-node, so a test never runs a stale dist/ build.
 */
import { main } from '../../shared/cli/main.js';

main(['node', 'twotower', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
