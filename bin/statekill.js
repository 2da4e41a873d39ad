#!/usr/bin/env node
// `watch` reloads its config on SIGHUP. Until its handler is installed (after every module has
// loaded), a SIGHUP would end the process: ignore it from the first instruction on.
if (process.argv[2] === 'watch') process.on('SIGHUP', function statekillEarlySighup() {});

// Output cut short by a closed pipe (`statekill list | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../dist/cli/main.js');
main(process.argv).then((code) => { process.exitCode = code; });
