// statekill benchmarks (issue 7). `npm run bench` runs everything; `npm run bench:quick` runs the
// small sizes only (well under a minute). Each case runs in a fresh process (bench/case.mjs), the
// methods interleaved within each repetition so that machine noise hits them alike.
//
//   node bench/run.mjs [--quick] [--sizes 100000,1000000] [--reps 5] [--no-linux] [--no-pf] [--report-only]
//
// Writes bench/results/pf-sim.json, bench/results/conntrack.json, bench/results/machine.json
// (with --quick: under bench/results/quick/), then bench/report.mjs renders chart.svg and, for the
// full run only, docs/benchmarks.md and the README table (between <!-- bench:start --> and
// <!-- bench:end -->). `--report-only` re-renders from the JSON without measuring.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { render } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const resultsDir = path.join(here, 'results');
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f) => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('--quick');
// Quick runs write under bench/results/quick/ so they never overwrite the published full run.
const outDir = quick ? path.join(resultsDir, 'quick') : resultsDir;
const sizes = opt('--sizes')?.split(',').map(Number) ?? (quick ? [100_000, 300_000] : [100_000, 1_000_000, 2_000_000, 4_000_000]);
const repsFor = (n) => Number(opt('--reps') ?? (quick ? 3 : n >= 4_000_000 ? 3 : 5));
const SEED = 1;
const METHODS = [
  { key: 'statekill-w0', label: 'statekill, inline (workers 0)', method: 'statekill', workers: 0 },
  { key: 'statekill-w1', label: 'statekill, 1 worker', method: 'statekill', workers: 1 },
  { key: 'statekill-w2', label: 'statekill, 2 workers', method: 'statekill', workers: 2 },
  { key: 'flush', label: 'flush-all (pfctl -Fs)', method: 'flush' },
  { key: 'gateway-kill', label: 'kernel gateway kill (pfctl -M -k gateway)', method: 'gateway-kill' },
];

mkdirSync(outDir, { recursive: true });
const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

// The pf cases run against a private copy of dist/ and the addon taken once at the start (other
// work may rebuild the shared tree meanwhile); it is checked with a tiny case, retried if the tree
// was caught mid-build. `--build` runs `npm run build:native` and `npm run build:ts` first.
function snapshotBuild() {
  if (flag('--build')) {
    for (const s of ['build:native', 'build:ts']) {
      const r = spawnSync('npm', ['run', s], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`npm run ${s} failed`);
    }
  }
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'statekill-bench-'));
    cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    mkdirSync(path.join(dir, 'build/Release'), { recursive: true });
    cpSync(path.join(root, 'build/Release/statekill.node'), path.join(dir, 'build/Release/statekill.node'));
    cpSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const r = spawnSync(process.execPath, [path.join(here, 'case.mjs'), JSON.stringify({ method: 'statekill', states: 20000, workers: 2 })], { encoding: 'utf8', env: { ...process.env, STATEKILL_BENCH_ROOT: dir } });
    if (r.status === 0) return dir;
    rmSync(dir, { recursive: true, force: true });
    if (attempt >= 6) throw new Error(`dist/ or the addon does not work (run npm run build:native && npm run build:ts): ${r.stderr}`);
    console.log(`the build in the working tree does not load (being rebuilt?); retrying in 10 s`);
    spawnSync('sleep', ['10']);
  }
}

export function machineFacts() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryBytes: os.totalmem(),
    platform: os.platform(),
    kernel: os.release(),
    node: process.version,
    v8: process.versions.v8,
    commit: sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    // Others share the working tree: uncommitted changes to the measured code are listed.
    dirty: (spawnSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'native'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean).map((l) => l.slice(3)),
    loadavgAtStart: os.loadavg(),
  };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2, min: s[0], max: s[s.length - 1], runs: s.length };
};

function runPf() {
  const lib = snapshotBuild();
  const env = { ...process.env, STATEKILL_BENCH_ROOT: lib };
  const runs = [];
  const t0 = Date.now();
  for (const n of sizes) {
    const reps = repsFor(n);
    for (let rep = 0; rep < reps; rep++) {
      for (const m of METHODS) {
        const spec = { method: m.method, states: n, seed: SEED, workers: m.workers };
        const r = spawnSync(process.execPath, [path.join(here, 'case.mjs'), JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 20, env });
        if (r.status !== 0) throw new Error(`case ${JSON.stringify(spec)} exited ${r.status}: ${r.stderr}`);
        const out = JSON.parse(r.stdout.trim().split('\n').pop());
        runs.push({ key: m.key, rep, ...out });
        const extra = out.phasesMs ? ' ' + Object.entries(out.phasesMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ') : '';
        console.log(`${String(n).padStart(8)} ${m.key.padEnd(13)} rep ${rep}: ${out.ms.toFixed(1).padStart(8)} ms, killed ${out.killed}, peak RSS ${(out.mem.peakRssBytes / 2 ** 20).toFixed(0)} MiB${extra}`);
      }
    }
  }
  // Every method that targets the gateway must have removed the same states.
  for (const n of sizes) {
    const killed = new Set(runs.filter((r) => r.states === n && r.method !== 'flush').map((r) => r.killed));
    if (killed.size !== 1) throw new Error(`at ${n} states the gateway kills disagree: ${[...killed].join(', ')}`);
    const failed = runs.filter((r) => r.states === n && r.counts?.failed);
    if (failed.length) throw new Error(`at ${n} states statekill reported failed kills`);
  }
  const summary = [];
  for (const n of sizes) {
    for (const m of METHODS) {
      const rs = runs.filter((r) => r.states === n && r.key === m.key);
      if (!rs.length) continue;
      const s = {
        key: m.key, label: m.label, method: m.method, workers: m.workers, states: n, killed: rs[0].killed,
        ms: stats(rs.map((r) => r.ms)),
        peakRssBytes: stats(rs.map((r) => r.mem.peakRssBytes)),
        peakMinusKernelBytes: stats(rs.map((r) => r.mem.peakMinusKernelBytes)),
        kernelCopyBytes: stats(rs.map((r) => r.mem.kernelCopyBytes)),
        rssAfterGenBytes: stats(rs.map((r) => r.mem.rssAfterGenBytes)),
        rawBytes: n * 384,
        minorFaults: stats(rs.map((r) => r.cpu.minorFaults)),
      };
      if (rs[0].phasesMs) s.phasesMs = Object.fromEntries(Object.keys(rs[0].phasesMs).map((k) => [k, stats(rs.map((r) => r.phasesMs[k]))]));
      summary.push(s);
    }
  }
  rmSync(lib, { recursive: true, force: true });
  return { bench: 'pf-sim', quick, seed: SEED, profile: 'bench', sizes, elapsedS: (Date.now() - t0) / 1000, machine: machineFacts(), summary, runs };
}

// Real Linux kernel: bench/conntrack-1m.mjs (statekill vs conntrack -D -m vs conntrack -F), which
// installs conntrack-tools itself and needs root. Its timestamped output is folded into one file.
function runLinux() {
  const out = { bench: 'conntrack', quick, machine: machineFacts(), sizes: [] };
  if (os.platform() !== 'linux') return { ...out, skipped: 'not Linux' };
  if (process.getuid?.() !== 0) return { ...out, skipped: 'not root (conntrack tables, namespaces and nf_conntrack_max need root)' };
  const linuxSizes = quick ? [100_000] : [100_000, 1_000_000];
  const runsPer = quick ? 1 : 3;
  for (const n of linuxSizes) {
    const before = new Set(readdirSync(resultsDir));
    console.log(`\nconntrack on the real kernel: ${n} entries, ${runsPer} runs`);
    const r = spawnSync(process.execPath, [path.join(here, 'conntrack-1m.mjs'), String(n), String(runsPer)], { stdio: 'inherit' });
    const made = readdirSync(resultsDir).filter((f) => !before.has(f) && f.startsWith('conntrack-1m-'));
    if (r.status !== 0 || made.length !== 1) {
      out.sizes.push({ n, error: `bench/conntrack-1m.mjs exited ${r.status}` });
      continue;
    }
    const file = path.join(resultsDir, made[0]);
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    unlinkSync(file);
    const byCase = {};
    for (const x of raw.results) (byCase[x.case] ??= []).push(x.ms);
    out.conntrackTools = raw.conntrackTools;
    out.sizes.push({ n, matching: raw.matching, runs: raw.runs, allOk: raw.results.every((x) => x.ok), cases: Object.fromEntries(Object.entries(byCase).map(([k, v]) => [k, stats(v)])), results: raw.results });
  }
  return out;
}

// ioctl vs netlink transport (FreeBSD 15 offers pf over netlink as well as ioctl): another
// engineer's standalone script. HOOK: when bench/netlink-vs-ioctl.mjs exists, it is run and its
// bench/results/netlink-vs-ioctl.json is shown in the report; until then the report says so.
function runNetlinkVsIoctl() {
  const script = path.join(here, 'netlink-vs-ioctl.mjs');
  if (!existsSync(script)) {
    console.log('\nnetlink vs ioctl: bench/netlink-vs-ioctl.mjs does not exist yet; skipped (hook in bench/run.mjs)');
    return;
  }
  console.log('\nnetlink vs ioctl: running bench/netlink-vs-ioctl.mjs');
  const r = spawnSync(process.execPath, [script, ...(quick ? ['--quick'] : [])], { stdio: 'inherit' });
  if (r.status !== 0) console.log(`bench/netlink-vs-ioctl.mjs exited ${r.status}`);
}

if (!flag('--report-only')) {
  writeFileSync(path.join(outDir, 'machine.json'), JSON.stringify(machineFacts(), null, 2) + '\n');
  if (!flag('--no-pf')) {
    const pf = runPf();
    writeFileSync(path.join(outDir, 'pf-sim.json'), JSON.stringify(pf, null, 2) + '\n');
  }
  if (!flag('--no-linux')) {
    const ct = runLinux();
    if (ct.skipped) console.log(`\nLinux conntrack cases skipped: ${ct.skipped}`);
    writeFileSync(path.join(outDir, 'conntrack.json'), JSON.stringify(ct, null, 2) + '\n');
  }
  if (!flag('--no-netlink')) runNetlinkVsIoctl();
}
const wrote = render({ quick });
for (const f of wrote) console.log(`wrote ${path.relative(root, f)}`);
