// One pf benchmark case in a fresh process (bench/run.mjs spawns one per repetition, so JIT and GC
// state cannot leak between cases, as in better-sqlite3's benchmark runner):
//   node bench/case.mjs '{"method":"statekill","states":1000000,"seed":1,"profile":"bench"}'
// Prints one JSON line on stdout. Methods, all on the same generated table (profile 'bench': 40% of
// the states on GW_WAN1 198.51.100.1 with their partners, 40% on GW_WAN2 203.0.113.1, 20% local;
// profile 'realistic': every kind of state, port-forwards included, see native/pf/sim/generator.cc):
//   statekill          openTable({ sim }) + kill(gateway 198.51.100.1/32), the library's defaults: a
//                      242-byte read where it suffices, pf's own gateway kill for the part it removes
//                      exactly, the rest by id
//   statekill-by-id    the same with { fullRecords: true, pfFilterKill: false }: 384-byte read, every
//                      state killed by id (what statekill did before issue 14)
//   statekill-warm     a long-lived process's second event: one table, a first dry-run event on the
//                      same gateway (read buffer faulted in, code warm), then the timed kill
//   kernel-rule-only   openTable({ sim }) + killByKernelRule(gateway): pf's gateway kill, a count
//   flush              PfBackend.onSim(sim).flush()                     what `pfctl -Fs` does
//   gateway-kill       killByFilter({ rtAddr: 198.51.100.1, killMatch }) what `pfctl -M -k gateway` does
// Memory: the simulated kernel keeps its own copy of the table in this process, so RSS is
// measured before and after generating it; `kernelCopyBytes` is the difference, and
// `peakMinusKernelBytes` is the peak RSS without it (what statekill itself would need next to a
// real kernel, plus Node's own baseline).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// bench/run.mjs points STATEKILL_BENCH_ROOT at a private copy of dist/ and the addon, so that a
// rebuild in the shared working tree during a long run cannot change (or break) what is measured.
const lib = process.env.STATEKILL_BENCH_ROOT
  ? pathToFileURL(path.join(process.env.STATEKILL_BENCH_ROOT, 'dist/index.js')).href
  : new URL('../dist/index.js', import.meta.url).href;
const { createSimKernel, openTable, PfBackend } = await import(lib);

const METHODS = ['statekill', 'statekill-by-id', 'statekill-warm', 'kernel-rule-only', 'flush', 'gateway-kill'];
const spec = JSON.parse(process.argv[2] ?? '{}');
const { method, states, seed = 1, profile = 'bench' } = spec;
if (!METHODS.includes(method) || !(states > 0) || !['bench', 'realistic'].includes(profile)) {
  console.error(`usage: node bench/case.mjs '{"method":"${METHODS.join('|')}","states":N,"seed":1,"profile":"bench|realistic"}'`);
  process.exit(2);
}

const GW = { af: 'inet', addr: '198.51.100.1', prefix: 32 };
const rss = () => process.memoryUsage().rss;
const usage = () => process.resourceUsage();

const rssBeforeGen = rss();
let t = performance.now();
const sim = createSimKernel({ version: 14, generate: { states, seed, profile } });
const genMs = performance.now() - t;
const rssAfterGen = rss();
const before = PfBackend.onSim(sim).stateCount();

const out = { ...spec, states, seed, profile };
let u0 = usage();
t = performance.now();
if (method === 'statekill' || method === 'statekill-by-id') {
  const table = await openTable({ sim });
  const opts = method === 'statekill' ? {} : { fullRecords: true, pfFilterKill: false };
  const { plan, report } = await table.kill([{ gateways: [GW] }], opts);
  out.ms = performance.now() - t;
  record(plan, report);
  await table.close();
} else if (method === 'statekill-warm') {
  const table = await openTable({ sim });
  await table.kill([{ gateways: [GW] }], { dryRun: true }); // the first event: nothing killed
  u0 = usage();
  t = performance.now();
  const { plan, report } = await table.kill([{ gateways: [GW] }]);
  out.ms = performance.now() - t;
  record(plan, report);
  await table.close();
} else if (method === 'kernel-rule-only') {
  const table = await openTable({ sim });
  out.killed = table.killByKernelRule([{ gateways: [GW] }]).killed;
  out.ms = performance.now() - t;
  await table.close();
} else if (method === 'flush') {
  out.killed = PfBackend.onSim(sim).flush();
  out.ms = performance.now() - t;
} else {
  const addr = new Uint8Array(16), mask = new Uint8Array(16);
  addr.set([198, 51, 100, 1]);
  mask.set([255, 255, 255, 255]);
  out.killed = PfBackend.onSim(sim).killByFilter({ af: 2, rtAddr: { addr, mask }, killMatch: true });
  out.ms = performance.now() - t;
}
const u1 = usage();
out.before = before;
out.left = PfBackend.onSim(sim).stateCount();
out.genMs = genMs;
// CPU and page faults of the timed operation only (first touch of fresh memory is a large share
// of the read phase on VMs).
out.cpu = { userMs: (u1.userCPUTime - u0.userCPUTime) / 1e3, systemMs: (u1.systemCPUTime - u0.systemCPUTime) / 1e3, minorFaults: u1.minorPageFault - u0.minorPageFault };
const peak = u1.maxRSS * 1024;
out.mem = {
  rawBytes: states * 384,
  rssBeforeGenBytes: rssBeforeGen,
  rssAfterGenBytes: rssAfterGen,
  kernelCopyBytes: rssAfterGen - rssBeforeGen,
  peakRssBytes: peak,
  peakMinusKernelBytes: peak - (rssAfterGen - rssBeforeGen),
};
process.stdout.write(JSON.stringify(out) + '\n');

function record(plan, report) {
  out.phasesMs = report.phasesMs;
  out.killed = report.killed;
  out.counts = { ...plan.counts, failed: report.failed, alreadyGone: report.alreadyGone };
  out.layout = plan.layout;
  out.killPath = report.killPath;
}
