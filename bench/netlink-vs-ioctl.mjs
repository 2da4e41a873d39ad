// Issue 5: reading a pf state table over netlink (GETSTATES stream) vs the V2 ioctl
// (DIOCGETSTATESV2), both against the simulated FreeBSD 14 kernel, each case in a fresh process.
//
//   node bench/netlink-vs-ioctl.mjs [--states 1000000] [--runs 3] [--chunk 65536] [--workers 2] [--out file]
//   node bench/netlink-vs-ioctl.mjs --case <name> --states N ...   (one case; prints one JSON line)
//
// Cases (profile 'bench' table, seed 1):
//   ioctl-v2            PfBackend.read(): size probe + one DIOCGETSTATESV2 into a SharedArrayBuffer
//   netlink-read        PfNetlinkBackend.read(): the stream collected into one growing SharedArrayBuffer
//   netlink-stream      readChunks({ keep: false, ring: 2 }): parse and drop, memory bounded by the ring
//   ioctl-v2+select     read, then selectStates (gateway 198.51.100.1/32) in the worker pool
//   netlink+select      streamSelect: each chunk goes to the workers as soon as it is parsed
// Measured: time to the first chunk (for the ioctl: when its single read returns), read time, total
// time, and memory: RSS is sampled before and after generating the table (the simulated kernel's
// copy lives in this process; on FreeBSD it is kernel memory) and maxRSS after the case, so
// `peakMinusKernelMB` = peak RSS without the kernel's copy.
// Writes bench/results/netlink-vs-ioctl.json (or --out). bench/run.mjs may call this script as is.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (f, d) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : d;
};
const STATES = Number(opt('--states', 1_000_000));
const RUNS = Number(opt('--runs', 3));
const CHUNK = Number(opt('--chunk', 65536));
const WORKERS = Number(opt('--workers', 2));
const CASES = ['ioctl-v2', 'netlink-read', 'netlink-stream', 'ioctl-v2+select', 'netlink+select'];
const MB = 1024 * 1024;

async function runCase(name) {
  // Same convention as bench/case.mjs: STATEKILL_BENCH_ROOT points at a private copy of dist/.
  const root = process.env.STATEKILL_BENCH_ROOT ?? path.resolve(here, '..');
  const load = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const { native } = await load('native/index.js');
  const { PfBackend } = await load('backends/pf.js');
  const { PfNetlinkBackend } = await load('backends/pf-netlink.js');
  const { selectStates, closeSelectPool } = await load('engine/select.js');
  const { streamSelect } = await load('engine/streamSelect.js');
  const { compileSelection } = await load('engine/compile.js');

  const rssBefore = process.memoryUsage().rss;
  const sim = new native.SimKernel({ version: 14 });
  sim.generate({ states: STATES, seed: 1, profile: 'bench' });
  const rssAfterGen = process.memoryUsage().rss;
  const kernelCopy = rssAfterGen - rssBefore;
  const selection = [{ name: 'WAN1', gateways: [{ af: 'inet', addr: '198.51.100.1', prefix: 32 }] }];
  const specs = selection.map((s, i) => compileSelection(s, i));
  if (name.endsWith('select')) await selectStates({ bytes: new Uint8Array(new SharedArrayBuffer(384 * 16384 * 2)), count: 32768, layout: 'pf-export', hasRouteInfo: true }, specs, WORKERS); // start the pool outside the timing

  const t0 = performance.now();
  let firstChunkMs, readMs, records, selected;
  if (name === 'ioctl-v2' || name === 'ioctl-v2+select') {
    const snap = await PfBackend.onSim(sim).read();
    readMs = firstChunkMs = performance.now() - t0;
    records = snap.count;
    if (name === 'ioctl-v2+select') selected = (await selectStates(snap, specs, WORKERS)).indices.length;
  } else if (name === 'netlink-read') {
    const b = PfNetlinkBackend.onSim(sim);
    for await (const c of b.readChunks(CHUNK)) {
      firstChunkMs ??= performance.now() - t0;
      if (c.whole) records = c.whole.count;
    }
    readMs = performance.now() - t0;
  } else if (name === 'netlink-stream') {
    const b = PfNetlinkBackend.onSim(sim);
    records = 0;
    for await (const c of b.readChunks(CHUNK, { keep: false, ring: 2 })) {
      firstChunkMs ??= performance.now() - t0;
      records += c.snapshot.count;
    }
    readMs = performance.now() - t0;
  } else if (name === 'netlink+select') {
    const r = await streamSelect(PfNetlinkBackend.onSim(sim), selection, { chunkRecords: CHUNK, workers: WORKERS });
    firstChunkMs = r.firstChunkMs;
    readMs = r.readMs;
    records = r.snapshot.count;
    selected = r.selected.indices.length;
  } else {
    throw new Error(`unknown case ${name}; one of ${CASES.join(', ')}`);
  }
  const totalMs = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024; // kilobytes on Linux and FreeBSD
  await closeSelectPool();
  if (records !== STATES) throw new Error(`${name}: read ${records} records, the table has ${STATES}`);
  return {
    case: name,
    states: STATES,
    chunkRecords: name.startsWith('netlink') ? CHUNK : undefined,
    workers: name.endsWith('select') ? WORKERS : undefined,
    selected,
    firstChunkMs: +firstChunkMs.toFixed(1),
    readMs: +readMs.toFixed(1),
    totalMs: +totalMs.toFixed(1),
    kernelCopyMB: +(kernelCopy / MB).toFixed(1),
    peakRssMB: +(peak / MB).toFixed(1),
    peakMinusKernelMB: +((peak - kernelCopy) / MB).toFixed(1),
  };
}

if (opt('--case')) {
  console.log(JSON.stringify(await runCase(opt('--case'))));
} else {
  const results = [];
  for (let run = 0; run < RUNS; run++)
    for (const c of CASES) {
      // A fresh process per case and run; cases interleaved so machine noise hits them alike.
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--case', c, '--states', String(STATES),
        '--chunk', String(CHUNK), '--workers', String(WORKERS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
      if (r.status !== 0) throw new Error(`case ${c} exited ${r.status}`);
      const row = { ...JSON.parse(r.stdout.trim().split('\n').pop()), run };
      results.push(row);
      console.log(`${c.padEnd(16)} run ${run}: first chunk ${String(row.firstChunkMs).padStart(7)} ms, read ${String(row.readMs).padStart(7)} ms, total ${String(row.totalMs).padStart(7)} ms, peak RSS ${row.peakRssMB} MB (${row.peakMinusKernelMB} MB without the kernel's copy)`);
    }
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  const summary = {};
  for (const c of CASES) {
    const rows = results.filter((r) => r.case === c);
    summary[c] = Object.fromEntries(['firstChunkMs', 'readMs', 'totalMs', 'peakRssMB', 'peakMinusKernelMB'].map((k) => [k, median(rows.map((r) => r[k]))]));
  }
  const out = opt('--out', path.join(here, 'results', 'netlink-vs-ioctl.json'));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, platform: process.platform },
    states: STATES, runs: RUNS, chunkRecords: CHUNK, workers: WORKERS,
    note: 'simulated FreeBSD 14 kernel in-process; median per case; peakMinusKernelMB excludes the simulated kernel\'s own copy of the table',
    summary, results,
  }, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  console.table(summary);
}
