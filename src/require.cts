/**
 * `require('statekill')`: the ES module itself, through Node's require(esm) (unflagged since Node
 * 20.19 and 22.12; `process.features.require_module`). The very same module instances as `import`,
 * so `instanceof StatekillError` holds whichever way a daemon loaded it. An older Node gets this
 * error instead of ERR_REQUIRE_ESM.
 */
if (!(process.features as { require_module?: boolean }).require_module) {
  throw new Error(`require('statekill') needs Node >= 20.19 (require of ES modules); this is ${process.version}: ` +
    "use `await import('statekill')`, or run node with --experimental-require-module");
}
module.exports = require('./index.js');
