// binding.gyp asks this for its source list, so adding a .cc file under native/ needs no gyp edit.
import { readdirSync } from 'node:fs';
import path from 'node:path';

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.cc') ? [p] : [];
  });
}
console.log(walk('native').sort().join(' '));
