#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// Output cut short by a closed pipe (`statekill list | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
main(process.argv).then((code) => { process.exitCode = code; });
