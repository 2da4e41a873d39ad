// Renders the benchmark results (bench/results/*.json) into a chart (SVG, no dependency), the
// markdown tables and the target checks. bench/run.mjs calls render() after measuring;
// `node bench/report.mjs [--quick]` re-renders from the JSON alone.
//   full run:  bench/results/chart.svg, docs/benchmarks.md, README.md between the bench markers
//   --quick:   bench/results/quick/chart.svg and bench/results/quick/benchmarks.md only
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

// The statekill configuration the targets are judged on: the library's defaults in a fresh process
// (issue 14); 'statekill-warm' is a long-lived process's second event.
const HEADLINE = 'statekill';
const WARM = 'statekill-warm';
const TARGET_N = 1_000_000;
const LINEAR_N = 4_000_000;
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const readJson = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined);
const MiB = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const fmtN = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
function fmtMs(ms) {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}
const spread = (s) => `${fmtMs(s.median)} (${fmtMs(s.min)}–${fmtMs(s.max)})`;
const x = (r) => `${r.toFixed(2)}×`;

// ---------------------------------------------------------------------------------------------
// SVG chart: log-log time against table size, one line per method, min-max whiskers.

const COLORS = ['#1f77b4', '#17becf', '#2ca02c', '#d62728', '#9467bd', '#ff7f0e', '#8c564b'];
const DASH = { flush: '6 4', 'gateway-kill': '2 3', 'conntrack -F (everything)': '6 4', 'statekill flush (everything)': '6 4', 'conntrack -D -m 0x100/0xff00': '2 3' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function yTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** One panel: series = [{ label, points: [{ n, median, min, max }] }]. Returns SVG elements. */
function panel({ x0, y0, w, h, title, xLabel, series, colors = COLORS }) {
  const pts = series.flatMap((s) => s.points);
  const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
  if (!ns.length) return `<text x="${x0 + w / 2}" y="${y0 + h / 2}" text-anchor="middle" class="t">${esc(title)}: no data</text>`;
  const xlo = ns[0] / 1.4, xhi = ns[ns.length - 1] * 1.4;
  const ylo = Math.min(...pts.map((p) => p.min)) / 1.6, yhi = Math.max(...pts.map((p) => p.max)) * 1.6;
  const L = 78, R = 12, T = 28, B = 44; // plot margins inside the panel
  const pw = w - L - R, ph = h - T - B;
  const X = (n) => x0 + L + ((Math.log(n) - Math.log(xlo)) / (Math.log(xhi) - Math.log(xlo))) * pw;
  const Y = (v) => y0 + T + ph - ((Math.log(v) - Math.log(ylo)) / (Math.log(yhi) - Math.log(ylo))) * ph;
  const el = [];
  el.push(`<text x="${x0 + L + pw / 2}" y="${y0 + 16}" text-anchor="middle" class="h">${esc(title)}</text>`);
  el.push(`<rect x="${x0 + L}" y="${y0 + T}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  for (const v of yTicks(ylo, yhi)) {
    const y = Y(v).toFixed(1);
    el.push(`<line x1="${x0 + L}" x2="${x0 + L + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    el.push(`<text x="${x0 + L - 6}" y="${y}" dy="4" text-anchor="end" class="t">${esc(v >= 1000 ? `${v / 1000} s` : `${v} ms`)}</text>`);
  }
  for (const n of ns) {
    const xx = X(n).toFixed(1);
    el.push(`<line y1="${y0 + T}" y2="${y0 + T + ph}" x1="${xx}" x2="${xx}" stroke="#e4e4e4"/>`);
    el.push(`<text x="${xx}" y="${y0 + T + ph + 16}" text-anchor="middle" class="t">${fmtN(n)}</text>`);
  }
  el.push(`<text x="${x0 + L + pw / 2}" y="${y0 + h - 8}" text-anchor="middle" class="t">${esc(xLabel)}</text>`);
  el.push(`<text transform="translate(${x0 + 14},${y0 + T + ph / 2}) rotate(-90)" text-anchor="middle" class="t">time, log scale (dot median, bar min–max)</text>`);
  series.forEach((s, i) => {
    const c = colors[i % colors.length];
    const p = [...s.points].sort((a, b) => a.n - b.n);
    const d = p.map((q, j) => `${j ? 'L' : 'M'}${X(q.n).toFixed(1)},${Y(q.median).toFixed(1)}`).join(' ');
    el.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"${DASH[s.key] ? ` stroke-dasharray="${DASH[s.key]}"` : ''}/>`);
    for (const q of p) {
      const xx = X(q.n).toFixed(1);
      el.push(`<line x1="${xx}" x2="${xx}" y1="${Y(q.min).toFixed(1)}" y2="${Y(q.max).toFixed(1)}" stroke="${c}" stroke-width="1.5"/>`);
      el.push(`<circle cx="${xx}" cy="${Y(q.median).toFixed(1)}" r="3" fill="${c}"/>`);
    }
  });
  // Legend under the plot, top-left inside it would hide the small-size points.
  return { svg: el.join('\n'), legend: series.map((s, i) => ({ label: s.label, color: colors[i % colors.length], dash: DASH[s.key] })) };
}

export function chartSvg(pf, ct) {
  const W = 1000, PH = 430;
  const pfSeries = [];
  for (const s of (pf?.summary ?? []).filter((x) => (x.profile ?? 'bench') === 'bench')) {
    let ser = pfSeries.find((q) => q.key === s.key);
    if (!ser) pfSeries.push((ser = { key: s.key, label: s.label, points: [] }));
    ser.points.push({ ...s.ms, n: s.states });
  }
  const ctSeries = [];
  for (const size of ct?.sizes ?? []) {
    for (const [k, st] of Object.entries(size.cases ?? {})) {
      let ser = ctSeries.find((q) => q.key === k);
      if (!ser) ctSeries.push((ser = { key: k, label: k, points: [] }));
      ser.points.push({ ...st, n: size.n });
    }
  }
  const left = panel({ x0: 0, y0: 40, w: 560, h: PH, title: 'pf: simulated FreeBSD 14 kernel', xLabel: 'states in the table (log scale)', series: pfSeries });
  const right = ctSeries.length
    ? panel({ x0: 580, y0: 40, w: 420, h: PH, title: 'Linux conntrack: real kernel', xLabel: 'conntrack entries (log scale)', series: ctSeries, colors: ['#2ca02c', '#17becf', '#ff7f0e', '#8c564b', '#7f7f7f'] })
    : { svg: `<text x="790" y="${40 + PH / 2}" text-anchor="middle" class="t">Linux conntrack: ${esc(ct?.skipped ?? 'not measured')}</text>`, legend: [] };
  const legend = (items, x0, y0) =>
    items
      .map((it, i) => {
        const y = y0 + i * 18;
        return `<line x1="${x0}" x2="${x0 + 28}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="2"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/><circle cx="${x0 + 14}" cy="${y}" r="3" fill="${it.color}"/><text x="${x0 + 36}" y="${y}" dy="4" class="t">${esc(it.label)}</text>`;
      })
      .join('\n');
  const rows = Math.max(left.legend?.length ?? 0, right.legend?.length ?? 0);
  const H = 40 + PH + 16 + rows * 18 + 10;
  const m = pf?.machine ?? ct?.machine ?? {};
  const sub = `${m.cpuModel ?? ''}, ${m.cores ?? '?'} cores, ${m.memoryBytes ? (m.memoryBytes / 2 ** 30).toFixed(0) + ' GiB' : ''}, Linux ${m.kernel ?? ''}, Node ${m.node ?? ''}, ${m.date?.slice(0, 10) ?? ''}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<style>.t{font-size:12px;fill:#333}.h{font-size:13px;font-weight:bold;fill:#222}.T{font-size:16px;font-weight:bold;fill:#111}</style>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="20" text-anchor="middle" class="T">statekill: time to kill one gateway's states against table size</text>
<text x="${W / 2}" y="36" text-anchor="middle" class="t">${esc(sub)}</text>
${left.svg}
${right.svg}
${legend(left.legend ?? [], 70, 40 + PH + 16)}
${legend(right.legend ?? [], 650, 40 + PH + 16)}
</svg>
`;
}

// ---------------------------------------------------------------------------------------------
// Markdown.

const get = (pf, key, n, profile = 'bench') => pf?.summary.find((s) => s.key === key && s.states === n && (s.profile ?? 'bench') === profile);
const perMillion = (s) => s.ms.median / (s.states / 1e6);
const judge = (r, limit) => ({ met: r <= limit, by: r <= limit ? `${x(limit / r)} headroom` : `missed by ${x(r / limit)}` });

/** Issue 14's targets, each judged from one run's medians (ratios within the run). */
export function targets(pf, ct) {
  const out = [];
  const sk = get(pf, HEADLINE, TARGET_N), fl = get(pf, 'flush', TARGET_N), gw = get(pf, 'gateway-kill', TARGET_N);
  const warm = get(pf, WARM, TARGET_N), kro = get(pf, 'kernel-rule-only', TARGET_N);
  if (sk && fl) {
    const r = sk.ms.median / fl.ms.median;
    out.push({ target: '1M, fresh process: ≤ 2× flush-all', measured: `${fmtMs(sk.ms.median)} vs ${fmtMs(fl.ms.median)} = ${x(r)}`, ...judge(r, 2) });
  }
  if (sk && gw) {
    const r = sk.ms.median / gw.ms.median;
    out.push({ target: '1M, fresh process: ≤ 2.5× the kernel gateway kill', measured: `${fmtMs(sk.ms.median)} vs ${fmtMs(gw.ms.median)} = ${x(r)}`, ...judge(r, 2.5) });
  }
  if (warm && fl) {
    const r = warm.ms.median / fl.ms.median;
    out.push({ target: '1M, second event (warm buffer and code): ≤ 1.5× flush-all', measured: `${fmtMs(warm.ms.median)} vs ${fmtMs(fl.ms.median)} = ${x(r)}`, ...judge(r, 1.5) });
  }
  const w1 = warm, w4 = get(pf, WARM, LINEAR_N), f1 = sk, f4 = get(pf, HEADLINE, LINEAR_N);
  if (w1 && w4) {
    const r = perMillion(w4) / perMillion(w1);
    const first = f1 && f4 ? `; first touch (fresh process): ${perMillion(f1).toFixed(0)} vs ${perMillion(f4).toFixed(0)} = ${x(perMillion(f4) / perMillion(f1))}` : '';
    out.push({ target: 'linear: ms per million states at 4M within 1.2× of 1M (warm)', measured: `warm: ${perMillion(w1).toFixed(0)} at 1M vs ${perMillion(w4).toFixed(0)} at 4M = ${x(r)}${first}`, ...judge(r, 1.2) });
  }
  if (sk) {
    const rows = pf.summary.filter((s) => s.key === HEADLINE && (s.profile ?? 'bench') === 'bench');
    const ratio = (s) => s.peakMinusKernelBytes.median / s.rawBytes;
    const worst = rows.filter((s) => s.states >= TARGET_N).reduce((a, s) => (!a || ratio(s) > ratio(a) ? s : a), undefined);
    const r = ratio(sk);
    out.push({
      target: 'peak RSS ≤ 1.3× the raw table',
      measured: `at 1M: ${x(r)} without the simulated kernel's copy (${x(sk.peakRssBytes.median / sk.rawBytes)} with it)` + (worst && worst !== sk ? `; largest from 1M up ${x(ratio(worst))} at ${fmtN(worst.states)}` : ''),
      ...judge(Math.max(r, worst ? ratio(worst) : r), 1.3),
    });
  }
  if (kro && gw) {
    const r = kro.ms.median / gw.ms.median;
    out.push({ target: '--kernel-rule-only: ≤ 1.1× the kernel gateway kill', measured: `${fmtMs(kro.ms.median)} vs ${fmtMs(gw.ms.median)} = ${x(r)}`, ...judge(r, 1.1) });
  }
  const big = ct?.sizes?.filter((s) => s.cases).sort((a, b) => b.n - a.n)[0];
  if (big) {
    const skm = big.cases['statekill kernel mark flush'], skd = big.cases['statekill dump + batched delete'], cd = big.cases['conntrack -D -m 0x100/0xff00'];
    if (skm && cd) {
      const r = cd.median / skm.median;
      out.push({ target: `Linux: ≥ 10× faster than conntrack -D -m (${fmtN(big.n)})`, measured: `kernel mark flush ${fmtMs(skm.median)} vs ${fmtMs(cd.median)} = ${r.toFixed(1)}× faster` + (skd ? `; dump + delete ${(cd.median / skd.median).toFixed(1)}× faster` : ''), met: r >= 10, by: r >= 10 ? `${x(r / 10)} headroom` : `missed by ${x(10 / r)}` });
    }
  } else if (ct?.skipped) out.push({ target: 'Linux: ≥ 10× faster than conntrack -D -m', measured: `not measured: ${ct.skipped}`, met: undefined, by: '' });
  return out;
}

function machineLine(m) {
  if (!m) return '';
  return `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.platform} ${m.kernel}, Node ${m.node}; commit ${m.commit ?? '?'}${m.dirty?.length ? ' (with uncommitted changes)' : ''}, ${m.date}; load average at start ${m.loadavgAtStart?.map((v) => v.toFixed(1)).join(', ') ?? '?'}.`;
}

const micro = (pf, prefix) => pf?.micro?.cases?.find((c) => c.name.startsWith(prefix) && !c.skipped);

/** Each phase at 1M: fresh process, second event, all by id, and the floor measured in this run. */
function phasesTable(pf, L) {
  const n = TARGET_N;
  const sk = get(pf, HEADLINE, n), warm = get(pf, WARM, n), byId = get(pf, 'statekill-by-id', n), gw = get(pf, 'gateway-kill', n);
  if (!sk?.phasesMs) return;
  const sel = micro(pf, 'select'), pair = micro(pf, 'pair');
  const ph = (s, p) => (s?.phasesMs?.[p] ? fmtMs(s.phasesMs[p].median) : '–');
  const floors = {
    read: warm?.phasesMs?.read ? `${fmtMs(warm.phasesMs.read.median)}: the copy into a buffer already faulted in (second event)` : '–',
    select: sel ? `${fmtMs((sel.nsPerItem * n) / 1e6)}: the native select pass alone (micro, ${sel.nsPerItem.toFixed(0)} ns per record)` : '–',
    pair: pair ? `${fmtMs((pair.nsPerItem * n) / 1e6)}: the native pair pass alone (micro, ${pair.nsPerItem.toFixed(0)} ns per record)` : '–',
    plan: warm?.phasesMs?.plan ? `${fmtMs(warm.phasesMs.plan.median)}: ids were gathered while pairing; what is left is assembling the typed arrays` : '–',
    kill: gw ? `${fmtMs(gw.ms.median)}: the kernel's own gateway kill of the same states (simulated kernel)` : '–',
  };
  L.push(`**Where the time goes at ${fmtN(n)}** (median ms per phase; read = the kernel's copy-out into statekill's buffer, select = matching the gateway, pair = finding partners, plan = kill lists, kill = pf's gateway kill for the part it removes exactly plus the rest by id):`, '');
  L.push('| phase | fresh process | second event (warm) | all by id, 384-byte read | floor measured in this run |', '|---|---:|---:|---:|---|');
  for (const p of ['read', 'select', 'pair', 'plan', 'kill'])
    L.push(`| ${p} | ${ph(sk, p)} | ${ph(warm, p)} | ${ph(byId, p)} | ${floors[p]} |`);
  L.push(`| total (wall) | ${fmtMs(sk.ms.median)} | ${warm ? fmtMs(warm.ms.median) : '–'} | ${byId ? fmtMs(byId.ms.median) : '–'} | |`, '');
  const kp = sk.killPath;
  if (kp) {
    const byIdCount = sk.killed - Math.min(kp.planned ?? 0, sk.killed);
    L.push(`Kill path at ${fmtN(n)}: ${kp.path === 'kernel-filter' ? `pf's gateway kill took ${kp.planned} of ${sk.killed} states (kernel counted ${kp.counted}), ${byIdCount} went by id` : `by id (${kp.reason})`}; read layout ${sk.layout === 'pf-1301' ? '242-byte pfsync_state' : '384-byte pf_state_export'}.`, '');
  }
  const rows = pf.summary.filter((s) => (s.key === HEADLINE || s.key === WARM) && (s.profile ?? 'bench') === 'bench');
  const sizes = [...new Set(rows.map((s) => s.states))].sort((a, b) => a - b);
  if (sizes.length > 1) {
    L.push('**Linearity** (ms per million states; "fresh" includes first-touch page faults of the read buffer, which on this VM get slower above about 3 GB of fresh memory; "warm" is the second event, whose read reuses the buffer):', '');
    L.push(`| | ${sizes.map(fmtN).join(' | ')} |`, `|---|${sizes.map(() => '---:').join('|')}|`);
    for (const k of [HEADLINE, WARM]) L.push(`| ${k === HEADLINE ? 'fresh process' : 'second event (warm)'} | ${sizes.map((nn) => { const s = get(pf, k, nn); return s ? perMillion(s).toFixed(0) : '–'; }).join(' | ')} |`);
    L.push('');
  }
}

function realisticTable(pf, L) {
  const n = pf?.realistic;
  if (!n) return;
  const rows = ['statekill', 'statekill-by-id', 'gateway-kill', 'flush'].map((k) => get(pf, k, n, 'realistic')).filter(Boolean);
  if (!rows.length) return;
  const fl = get(pf, 'flush', n, 'realistic');
  L.push(`**Realistic profile, ${fmtN(n)} states** (port-forwards, default-routed NAT, firewall-originated, ambiguous partners; gateway 198.51.100.1): statekill's default rule (\`kernel+stack\`) also takes the port-forward partners pf's own rule cannot see, so the two kill sets differ:`, '');
  L.push('| method | states killed | time | ÷ flush-all |', '|---|---:|---:|---:|');
  for (const s of rows) L.push(`| ${s.label} | ${s.killed.toLocaleString('en-US')} | ${spread(s.ms)} | ${fl ? x(s.ms.median / fl.ms.median) : '–'} |`);
  const sk = get(pf, 'statekill', n, 'realistic');
  if (sk?.killPath?.path === 'kernel-filter') L.push('', `statekill's kill path there: pf's gateway kill took ${sk.killPath.planned} states, ${sk.killed - sk.killPath.planned} went by id (the port-forward partners).`);
  L.push('');
}

function microTable(pf, L) {
  const cs = pf?.micro?.cases;
  if (!cs?.length) return;
  L.push(`**Micro cases** (tinybench, \`bench/micro.mjs\`, one process; median per item; select and pair over a ${fmtN(pf.micro.states)}-state bench table):`, '');
  L.push('| case | per item |', '|---|---:|');
  for (const c of cs) L.push(`| ${c.name} | ${c.skipped ? `skipped: ${c.skipped}` : `${c.nsPerItem >= 1000 ? `${(c.nsPerItem / 1000).toFixed(2)} µs` : `${c.nsPerItem.toFixed(0)} ns`} per ${c.per}`} |`);
  L.push('');
}

/** The generated tables (also what goes into the README between the markers). */
export function tablesMd(pf, ct, nl, { chartPath = 'bench/results/chart.svg', compact = false } = {}) {
  const L = [];
  L.push(machineLine(pf?.machine ?? ct?.machine), '');
  if (pf) {
    const bench = pf.summary.filter((s) => (s.profile ?? 'bench') === 'bench');
    const sizes = pf.sizes;
    const keys = [...new Set(bench.map((s) => s.key))];
    const reps = [...new Set(bench.map((s) => `${fmtN(s.states)}: ${s.ms.runs}`))].join(', ');
    L.push(`**pf, simulated FreeBSD 14 kernel** (profile \`bench\`, seed ${pf.seed}; each run a fresh process; median (min–max) of ${reps} runs). Every gateway kill removes the failed gateway's 40% and their partners.`, '');
    const ratio = (a, b, n) => { const p = get(pf, a, n), q = get(pf, b, n); return p && q ? x(p.ms.median / q.ms.median) : '–'; };
    L.push(`| states | ${keys.map((k) => bench.find((s) => s.key === k).label).join(' | ')} | fresh ÷ flush | fresh ÷ gateway kill | warm ÷ flush | rule-only ÷ gateway kill |`);
    L.push(`|---:|${keys.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
    for (const n of sizes)
      L.push(`| ${fmtN(n)} | ${keys.map((k) => { const s = get(pf, k, n); return s ? spread(s.ms) : '–'; }).join(' | ')} | ${ratio(HEADLINE, 'flush', n)} | ${ratio(HEADLINE, 'gateway-kill', n)} | ${ratio(WARM, 'flush', n)} | ${ratio('kernel-rule-only', 'gateway-kill', n)} |`);
    L.push('');
    if (!compact) {
      phasesTable(pf, L);
      realisticTable(pf, L);
      L.push(`**Memory** (${HEADLINE}, median peak RSS of the case process). The simulated kernel keeps its own copy of the table in the same process; "kernel copy" is the RSS growth from generating it, measured before statekill reads anything, and "peak − kernel copy" is what statekill needs beside a real kernel (including Node's own ~60 MiB). The raw table is n × 384 B (pf_state_export); the read itself is 242 B per state where the selections allow it.`, '');
      L.push('| states | raw table (n × 384 B) | kernel copy | peak RSS | peak − kernel copy | ÷ raw (with copy) | ÷ raw (without copy) |', '|---:|---:|---:|---:|---:|---:|---:|');
      for (const n of sizes) {
        const s = get(pf, HEADLINE, n);
        if (!s) continue;
        L.push(`| ${fmtN(n)} | ${MiB(s.rawBytes)} | ${MiB(s.kernelCopyBytes.median)} | ${MiB(s.peakRssBytes.median)} | ${MiB(s.peakMinusKernelBytes.median)} | ${x(s.peakRssBytes.median / s.rawBytes)} | ${x(s.peakMinusKernelBytes.median / s.rawBytes)} |`);
      }
      L.push('');
      microTable(pf, L);
    }
  }
  if (ct?.sizes?.length) {
    const cases = [...new Set(ct.sizes.flatMap((s) => Object.keys(s.cases ?? {})))];
    L.push(`**Linux conntrack, real kernel** (${ct.conntrackTools ?? 'conntrack-tools'}; half the entries on WAN1, mark 0x100/0xff00; each case on a freshly filled table in its own namespace; median (min–max)):`, '');
    L.push(`| entries | ${cases.join(' | ')} | conntrack -D -m ÷ statekill mark flush |`, `|---:|${cases.map(() => '---:').join('|')}|---:|`);
    for (const s of ct.sizes) {
      if (!s.cases) {
        L.push(`| ${fmtN(s.n)} | ${s.error} |`);
        continue;
      }
      const r = s.cases['conntrack -D -m 0x100/0xff00'] && s.cases['statekill kernel mark flush'] ? `${(s.cases['conntrack -D -m 0x100/0xff00'].median / s.cases['statekill kernel mark flush'].median).toFixed(1)}×` : '–';
      L.push(`| ${fmtN(s.n)} | ${cases.map((c) => (s.cases[c] ? spread(s.cases[c]) : '–')).join(' | ')} | ${r} |`);
    }
    L.push('');
  } else if (ct?.skipped && !compact) L.push(`Linux conntrack cases skipped: ${ct.skipped}.`, '');
  if (nl && !compact) {
    L.push('**ioctl vs netlink transport** (from `bench/results/netlink-vs-ioctl.json`, written by `bench/netlink-vs-ioctl.mjs`):', '', '```json', JSON.stringify(nl.summary ?? nl, null, 2).slice(0, 4000), '```', '');
  } else if (!compact) L.push('ioctl vs netlink transport: not measured yet (`bench/netlink-vs-ioctl.mjs` does not exist; `bench/run.mjs` runs it once it does).', '');
  const tg = targets(pf, ct);
  if (tg.length) {
    L.push('**Targets** (issue 14; a benchmark, not a timed test; medians of one run, ratios within it):', '', '| target | measured | met? |', '|---|---|---|');
    for (const t of tg) L.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? 'not measured' : t.met ? `yes (${t.by})` : `**no** (${t.by})`} |`);
    L.push('');
  }
  L.push(`![time against table size](${chartPath})`, '');
  return L.join('\n');
}

export function render({ quick = false } = {}) {
  const dir = quick ? path.join(here, 'results', 'quick') : path.join(here, 'results');
  const pf = readJson(path.join(dir, 'pf-sim.json'));
  const ct = readJson(path.join(dir, 'conntrack.json'));
  const nl = readJson(path.join(dir, 'netlink-vs-ioctl.json'));
  const wrote = [];
  const chart = path.join(dir, 'chart.svg');
  writeFileSync(chart, chartSvg(pf, ct));
  wrote.push(chart);
  if (quick) {
    const md = path.join(dir, 'benchmarks.md');
    writeFileSync(md, tablesMd(pf, ct, nl, { chartPath: 'chart.svg' }));
    wrote.push(md);
    return wrote;
  }
  const docs = path.join(root, 'docs', 'benchmarks.md');
  const generated = tablesMd(pf, ct, nl, { chartPath: '../bench/results/chart.svg' });
  // docs/benchmarks.md: hand-written prose around a generated block (same markers as the README).
  const prev = existsSync(docs) ? readFileSync(docs, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const at = prev.indexOf(START), end = prev.indexOf(END);
  if (at < 0 || end < at) throw new Error(`${docs} lacks the ${START} / ${END} markers`);
  writeFileSync(docs, prev.slice(0, at + START.length) + '\n' + generated + '\n' + prev.slice(end));
  wrote.push(docs);
  const readme = path.join(root, 'README.md');
  if (existsSync(readme)) {
    const r = readFileSync(readme, 'utf8');
    const a = r.indexOf(START), b = r.indexOf(END);
    if (a >= 0 && b > a) {
      writeFileSync(readme, r.slice(0, a + START.length) + '\n' + tablesMd(pf, ct, nl, { chartPath: 'bench/results/chart.svg', compact: true }) + '\nPhases, memory and the reasons for missed targets: [docs/benchmarks.md](docs/benchmarks.md).\n' + '\n' + r.slice(b));
      wrote.push(readme);
    } else console.log(`README.md has no ${START} / ${END} markers: the table is in docs/benchmarks.md only`);
  } else console.log('README.md does not exist yet: the table is in docs/benchmarks.md only');
  return wrote;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of render({ quick: process.argv.includes('--quick') })) console.log(`wrote ${path.relative(root, f)}`);
}
