#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (built by `npm ci` through the prepare script),
// so no call pays for a TypeScript compile.
import { main } from '../dist/shared/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
