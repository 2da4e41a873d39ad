// Micro cases (tinybench), in one fresh process: what one state costs in each step, so the docs can
// put a floor beside each phase and say what a real kernel adds.
//   node bench/micro.mjs [--quick]      prints one JSON line: { cases: [{ name, per, nsPerItem, ... }] }
// Cases:
//   kill by id, struct ioctl   DIOCKILLSTATES per state on the simulated FreeBSD 14 kernel (ids that
//                              are gone: the lookup and the request, no removal)
//   kill by id, nvlist         DIOCKILLSTATESNV per state on the simulated FreeBSD 15 kernel (no
//                              COMPAT_FREEBSD14: the struct ioctl is gone there)
//   kill by id, netlink        PFNL_CMD_KILLSTATES per state on the same kernel (the netlink
//                              transport's by-id kill, FreeBSD 15's default)
//   select / pair, per record  the native passes over a 1M-state bench table (200k with --quick)
//   trivial system call        ioctl(FIONREAD) on a pipe (bench/syscall-cost.c, compiled with cc);
//                              skipped with the reason when no compiler is found
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.STATEKILL_BENCH_ROOT ?? path.resolve(here, '..');
const load = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
const { createSimKernel, PfBackend, PfNetlinkBackend } = await load('index.js');
const { native } = await load('native/index.js');
const { compileSelection } = await load('engine/compile.js');
const quick = process.argv.includes('--quick');

const cases = [];
const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: 100 });
const per = new Map(); // task name -> [items per iteration, unit]

// By-id kills of ids no state has: each call does the whole request (struct copy or nvlist
// pack/unpack) and the lookup, and nothing changes between iterations.
const BATCH = 2000;
const gone = new BigUint64Array(BATCH).map((_, i) => 0x7fff000000000000n + BigInt(i));
const creators = new Uint32Array(BATCH).fill(0x0badc0de);
const out = new Int32Array(BATCH);
const KILLERS = [
  ['kill by id, struct ioctl (simulated 14)', 14, (s) => PfBackend.onSim(s)],
  ['kill by id, nvlist ioctl (simulated 15)', 15, (s) => PfBackend.onSim(s)],
  ['kill by id, netlink KILLSTATES (simulated 15)', 15, (s) => PfNetlinkBackend.onSim(s)],
];
for (const [name, version, open] of KILLERS) {
  const be = open(createSimKernel({ version, generate: { states: 10_000, seed: 1 } }));
  bench.add(name, () => be.killIds(gone, creators, out));
  per.set(name, [BATCH, 'state']);
}

// The native passes over a bench table, as plan() runs them.
const N = quick ? 200_000 : 1_000_000;
const be = PfBackend.onSim(createSimKernel({ version: 14, generate: { states: N, seed: 1, profile: 'bench' } }));
const snap = await be.read();
const stride = snap.layout === 'pf-1301' ? 242 : 384;
const specs = [compileSelection({ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }, 0)];
const idx = new Int32Array(snap.count), masks = new Uint32Array(snap.count);
const nsel = native.pfSelect(snap.bytes, stride, 0, snap.count, specs, idx, masks);
bench.add('select (gateway), per record', () => native.pfSelect(snap.bytes, stride, 0, snap.count, specs, idx, masks));
per.set('select (gateway), per record', [snap.count, 'record']);
const sel = idx.slice(0, nsel), selMasks = masks.slice(0, nsel);
bench.add('pair (kernel+stack), per record', () => native.pfPair(snap.bytes, stride, snap.count, sel, selMasks, true));
per.set('pair (kernel+stack), per record', [snap.count, 'record']);
// The same pass without the either-direction probe (plans with no selection pf's gateway kill could take).
bench.add('pair (kernel+stack), no either-direction probe, per record', () => native.pfPair(snap.bytes, stride, snap.count, sel, selMasks, true, false));
per.set('pair (kernel+stack), no either-direction probe, per record', [snap.count, 'record']);

await bench.run();
for (const task of bench.tasks) {
  const r = task.result;
  const [items, unit] = per.get(task.name);
  cases.push({ name: task.name, per: unit, nsPerItem: (r.latency.p50 * 1e6) / items, msPerIteration: r.latency.p50, rme: r.latency.rme, samples: r.latency.samples?.length ?? undefined, items });
}

// A trivial system call, for what a real kernel adds per by-id kill.
const dir = mkdtempSync(path.join(os.tmpdir(), 'statekill-syscall-'));
try {
  const exe = path.join(dir, 'syscall-cost');
  const cc = spawnSync('cc', ['-O2', '-o', exe, path.join(here, 'syscall-cost.c')], { encoding: 'utf8' });
  if (cc.status === 0) {
    const r = spawnSync(exe, [quick ? '200000' : '2000000'], { encoding: 'utf8' });
    if (r.status === 0) cases.push({ name: 'trivial system call (ioctl FIONREAD on a pipe, best of 5)', per: 'call', nsPerItem: Number(r.stdout.trim()) });
    else cases.push({ name: 'trivial system call', per: 'call', skipped: `exited ${r.status}` });
  } else cases.push({ name: 'trivial system call', per: 'call', skipped: `no C compiler (cc): ${(cc.stderr || cc.error?.message || '').trim().split('\n')[0]}` });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

process.stdout.write(JSON.stringify({ states: N, selected: nsel, cases }) + '\n');
