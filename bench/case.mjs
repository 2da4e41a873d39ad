// One pf benchmark case in a fresh process (bench/run.mjs spawns one per repetition, so JIT and GC
// state cannot leak between cases, as in better-sqlite3's benchmark runner):
//   node bench/case.mjs '{"method":"statekill","states":1000000,"seed":1,"workers":2}'
// Prints one JSON line on stdout. Methods, all on the same generated table (profile 'bench':
// 40% of states on GW_WAN1 198.51.100.1 with partners, 40% on GW_WAN2 203.0.113.1, 20% local):
//   statekill     openTable({ sim }) + kill(gateway 198.51.100.1/32, { workers }), end to end
//   flush         PfBackend.onSim(sim).flush()                     what `pfctl -Fs` does
//   gateway-kill  killByFilter({ rtAddr: 198.51.100.1, killMatch }) what `pfctl -M -k gateway` does
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

const spec = JSON.parse(process.argv[2] ?? '{}');
const { method, states, seed = 1, workers = 2 } = spec;
if (!['statekill', 'flush', 'gateway-kill'].includes(method) || !(states > 0)) {
  console.error(`usage: node bench/case.mjs '{"method":"statekill|flush|gateway-kill","states":N,"seed":1,"workers":2}'`);
  process.exit(2);
}

const GW = [198, 51, 100, 1];
const rss = () => process.memoryUsage().rss;
const usage = () => process.resourceUsage();

const rssBeforeGen = rss();
let t = performance.now();
const sim = createSimKernel({ version: 14, generate: { states, seed, profile: 'bench' } });
const genMs = performance.now() - t;
const rssAfterGen = rss();
const before = PfBackend.onSim(sim).stateCount();

const u0 = usage();
const out = { ...spec, states, seed };
t = performance.now();
if (method === 'statekill') {
  const table = await openTable({ sim });
  const { plan, report } = await table.kill([{ gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }], { workers });
  out.ms = performance.now() - t;
  out.phasesMs = report.phasesMs;
  out.killed = report.killed;
  out.counts = { ...plan.counts, failed: report.failed, alreadyGone: report.alreadyGone };
  await table.close();
} else if (method === 'flush') {
  out.killed = PfBackend.onSim(sim).flush();
  out.ms = performance.now() - t;
} else {
  const addr = new Uint8Array(16), mask = new Uint8Array(16);
  addr.set(GW);
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
