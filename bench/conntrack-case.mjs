// One conntrack benchmark case in its own process (bench/conntrack-1m.mjs runs it):
//   node bench/conntrack-case.mjs fill NETNS N        create N synthetic entries (half WAN1 0x100, half WAN2 0x200)
//   node bench/conntrack-case.mjs CASE NETNS          time CASE, print {"case","ms"} as JSON
// Cases: sk-kernel-mark (one filtered DELETE), sk-dump-delete (mark-filtered dump + batched
// DELETE by tuple), sk-flush (tuple-less DELETE, no filter). The addon is used directly, with the same calls
// ConntrackBackend makes, so the bench does not depend on the TypeScript build.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';

const require = createRequire(import.meta.url);
const native = require('../build/Release/statekill.node');
const [what, ns, nArg] = process.argv.slice(2);
const MARK = 0x100, MASK = 0xff00;
const LE = endianness() === 'LE';

function fill(n) {
  const S = 128;
  const b = new Uint8Array(new SharedArrayBuffer(n * S));
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * S;
    const wan1 = i % 2 === 0;
    b[o] = 4; b[o + 1] = 6; b[o + 2] = 3; b[o + 14] = 6;
    dv.setUint16(o + 4, 2000, LE);
    dv.setUint16(o + 6, 443, LE);
    dv.setUint16(o + 8, 443, LE);
    // Reply tuples must be unique: server address per 128k block, masquerade port within it.
    dv.setUint16(o + 10, 1024 + ((i >> 1) & 0xffff), LE);
    dv.setUint32(o + 16, wan1 ? 0x100 : 0x200, LE);
    dv.setUint32(o + 20, 0x6, LE);
    dv.setUint32(o + 24, 7200, LE);
    b[o + 32] = 10; b[o + 33] = 20 + (i >> 16); b[o + 34] = (i >> 8) & 255; b[o + 35] = i & 255;
    b[o + 48] = 10; b[o + 49] = 99; b[o + 50] = 0; b[o + 51] = 80 + (i >> 17);
    b.copyWithin(o + 64, o + 48, o + 52);
    b[o + 80] = 10; b[o + 81] = 1; b[o + 82] = wan1 ? 1 : 2; b[o + 83] = 2;
  }
  const fd = native.ctOpen(ns);
  const out = new Int32Array(n);
  const created = native.ctInsert(fd, b, n, out);
  const firstErr = out.find((r) => r !== 0);
  console.log(JSON.stringify({ created, count: native.ctCount(fd), firstErr }));
  native.ctClose(fd);
}

function run(name) {
  const t0 = performance.now();
  const fd = native.ctOpen(ns);
  if (name === 'sk-kernel-mark') native.ctFlushMark(fd, MARK, MASK);
  else if (name === 'sk-flush') native.ctFlushAll(fd);
  else if (name === 'sk-dump-delete') {
    const cap = Math.ceil(native.ctCount(fd) * 1.1) + 256;
    const bytes = new Uint8Array(new SharedArrayBuffer(cap * 128));
    const r = native.ctDump(fd, bytes, { mark: MARK, mask: MASK });
    const idx = Int32Array.from({ length: r.count }, (_, i) => i);
    native.ctDelete(fd, bytes, idx, new Int32Array(r.count));
  } else throw new Error(`unknown case ${name}`);
  native.ctClose(fd);
  console.log(JSON.stringify({ case: name, ms: performance.now() - t0 }));
}

if (what === 'fill') fill(Number(nArg));
else run(what);
