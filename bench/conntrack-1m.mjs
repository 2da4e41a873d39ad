// Issue 7: statekill vs conntrack-tools on one real 1M-entry table (half WAN1, mark 0x100/0xff00).
// Every case runs in a fresh process on a table refilled to exactly N, in a namespace of our own,
// and the entries left are checked. Needs root. Usage: node bench/conntrack-1m.mjs [N] [runs]
// Raises nf_conntrack_max / hashsize globally for the run (they are read-only inside a netns) and
// restores them at the end. Writes bench/results/conntrack-1m-<time>.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const N = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 3);
const ns = `skbench${process.pid}`;
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', ...opts });

execFileSync('bash', [path.join(root, 'scripts/system-deps.sh'), 'conntrack'], { stdio: 'inherit' });

const MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const HASH = '/sys/module/nf_conntrack/parameters/hashsize';
const saved = { max: readFileSync(MAX, 'utf8').trim(), hash: readFileSync(HASH, 'utf8').trim() };

const cases = [
  { name: 'statekill kernel mark flush', cmd: [process.execPath, path.join(here, 'conntrack-case.mjs'), 'sk-kernel-mark', ns], left: N / 2 },
  { name: 'statekill dump + batched delete', cmd: [process.execPath, path.join(here, 'conntrack-case.mjs'), 'sk-dump-delete', ns], left: N / 2 },
  { name: 'conntrack -D -m 0x100/0xff00', cmd: ['ip', 'netns', 'exec', ns, 'conntrack', '-D', '-m', '0x100/0xff00'], left: N / 2 },
  { name: 'statekill flush (everything)', cmd: [process.execPath, path.join(here, 'conntrack-case.mjs'), 'sk-flush', ns], left: 0 },
  { name: 'conntrack -F (everything)', cmd: ['ip', 'netns', 'exec', ns, 'conntrack', '-F'], left: 0 },
];

const count = () => Number(sh('ip', ['netns', 'exec', ns, 'conntrack', '-C']).trim());
const results = [];
try {
  writeFileSync(MAX, String(Math.max(Number(saved.max), N * 2)));
  writeFileSync(HASH, String(Math.max(Number(saved.hash), 1 << Math.ceil(Math.log2(N)))));
  sh('ip', ['netns', 'add', ns]);
  for (let run = 0; run < RUNS; run++) {
    for (const c of cases) {
      spawnSync('ip', ['netns', 'exec', ns, 'conntrack', '-F'], { stdio: 'ignore' });
      const f = JSON.parse(sh(process.execPath, [path.join(here, 'conntrack-case.mjs'), 'fill', ns, String(N)]));
      if (f.count !== N) throw new Error(`fill made ${f.count} entries, wanted ${N} (first error ${f.firstErr})`);
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.cmd[0], c.cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}`);
      const left = count();
      results.push({ case: c.name, run, ms: Math.round(ms), left, ok: left === c.left });
      console.log(`${c.name.padEnd(34)} run ${run}: ${(ms / 1000).toFixed(3)} s, ${left} left${left === c.left ? '' : ` (expected ${c.left})`}`);
    }
  }
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
  writeFileSync(HASH, saved.hash);
  writeFileSync(MAX, saved.max);
}

const summary = {};
for (const r of results) (summary[r.case] ??= []).push(r.ms);
const out = {
  bench: 'conntrack-1m', when: new Date().toISOString(), kernel: release(), n: N, matching: N / 2, runs: RUNS,
  conntrackTools: sh('conntrack', ['--version']).trim(),
  summary: Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, { minMs: Math.min(...v), medianMs: v.sort((a, b) => a - b)[v.length >> 1] }])),
  results,
};
mkdirSync(path.join(here, 'results'), { recursive: true });
const file = path.join(here, 'results', `conntrack-1m-${out.when.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${path.relative(root, file)}`);
