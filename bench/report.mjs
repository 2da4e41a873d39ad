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

// The statekill configuration the targets are judged on: the library default, which selects
// inline (workers 0) below 4M states (the tables show 0, 1 and 2 workers at every size).
const HEADLINE = 'statekill-w0';
const TARGET_N = 1_000_000;
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
  for (const s of pf?.summary ?? []) {
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

const get = (pf, key, n) => pf?.summary.find((s) => s.key === key && s.states === n);

/** Least-squares slope of log(time) against log(size): 1 = linear. */
function loglogSlope(points) {
  const p = points.filter((q) => q.y > 0);
  if (p.length < 2) return NaN;
  const xs = p.map((q) => Math.log(q.n)), ys = p.map((q) => Math.log(q.y));
  const mx = xs.reduce((a, b) => a + b) / xs.length, my = ys.reduce((a, b) => a + b) / ys.length;
  let num = 0, den = 0;
  for (let i = 0; i < xs.length; i++) num += (xs[i] - mx) * (ys[i] - my), den += (xs[i] - mx) ** 2;
  return num / den;
}

export function targets(pf, ct) {
  const out = [];
  const sk = get(pf, HEADLINE, TARGET_N), fl = get(pf, 'flush', TARGET_N), gw = get(pf, 'gateway-kill', TARGET_N);
  if (sk && fl) {
    const r = sk.ms.median / fl.ms.median;
    out.push({ target: 'selective kill ≤ 2× flush-all at 1M', measured: `${fmtMs(sk.ms.median)} vs ${fmtMs(fl.ms.median)} = ${x(r)}`, met: r <= 2, by: r <= 2 ? `${x(2 / r)} headroom` : `missed by ${x(r / 2)}` });
  }
  if (sk && gw) {
    const r = sk.ms.median / gw.ms.median;
    out.push({ target: 'selective kill ≤ 1.2× kernel gateway kill at 1M', measured: `${fmtMs(sk.ms.median)} vs ${fmtMs(gw.ms.median)} = ${x(r)}`, met: r <= 1.2, by: r <= 1.2 ? `${x(1.2 / r)} headroom` : `missed by ${x(r / 1.2)}` });
  }
  if (pf) {
    const rows = pf.summary.filter((s) => s.key === HEADLINE);
    const worst = rows.reduce((a, s) => (!a || s.peakMinusKernelBytes.median / s.rawBytes > a.peakMinusKernelBytes.median / a.rawBytes ? s : a), undefined);
    const at1m = rows.find((s) => s.states === TARGET_N) ?? worst;
    if (at1m) {
      const r = at1m.peakMinusKernelBytes.median / at1m.rawBytes;
      const rr = at1m.peakRssBytes.median / at1m.rawBytes;
      out.push({
        target: 'peak RSS ≤ 1.3× raw table',
        measured: `at ${fmtN(at1m.states)}: ${x(r)} without the simulated kernel's copy (${x(rr)} with it)` + (worst && worst !== at1m ? `; largest ratio ${x(worst.peakMinusKernelBytes.median / worst.rawBytes)} at ${fmtN(worst.states)}` : ''),
        met: r <= 1.3,
        by: r <= 1.3 ? `${x(1.3 / r)} headroom` : `missed by ${x(r / 1.3)}`,
      });
    }
    const pts = rows.map((s) => ({ n: s.states, y: s.ms.median }));
    const slope = loglogSlope(pts);
    if (Number.isFinite(slope)) {
      const per = rows.map((s) => `${fmtN(s.states)} ${(s.ms.median / (s.states / 1e6)).toFixed(0)}`).join(', ');
      out.push({ target: 'time linear in table size', measured: `log-log slope ${slope.toFixed(2)}; ms per million states: ${per}`, met: slope <= 1.1, by: slope <= 1.1 ? 'slope ≤ 1.1' : `slope ${slope.toFixed(2)} > 1.1` });
    }
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
  return `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.platform} ${m.kernel}, Node ${m.node}; commit ${m.commit ?? '?'}, ${m.date}.`;
}

/** The generated tables (also what goes into the README between the markers). */
export function tablesMd(pf, ct, nl, { chartPath = 'bench/results/chart.svg', compact = false } = {}) {
  const L = [];
  L.push(machineLine(pf?.machine ?? ct?.machine), '');
  if (pf) {
    const sizes = pf.sizes;
    const keys = [...new Set(pf.summary.map((s) => s.key))];
    const reps = [...new Set(pf.summary.map((s) => `${fmtN(s.states)}: ${s.ms.runs}`))].join(', ');
    L.push(`**pf, simulated FreeBSD 14 kernel** (profile \`bench\`, seed ${pf.seed}; each run a fresh process; median (min–max) of ${reps} runs). The gateway kills remove the failed gateway's 40% and their partners.`, '');
    L.push(`| states | ${keys.map((k) => pf.summary.find((s) => s.key === k).label).join(' | ')} | ${HEADLINE} ÷ flush | ${HEADLINE} ÷ gateway kill |`);
    L.push(`|---:|${keys.map(() => '---:').join('|')}|---:|---:|`);
    for (const n of sizes) {
      const sk = get(pf, HEADLINE, n), fl = get(pf, 'flush', n), gw = get(pf, 'gateway-kill', n);
      L.push(`| ${fmtN(n)} | ${keys.map((k) => { const s = get(pf, k, n); return s ? spread(s.ms) : '–'; }).join(' | ')} | ${sk && fl ? x(sk.ms.median / fl.ms.median) : '–'} | ${sk && gw ? x(sk.ms.median / gw.ms.median) : '–'} |`);
    }
    if (!compact) L.push('', `**Where statekill's time goes** (${HEADLINE}, median ms per phase; read = copying the table out of the kernel, select = matching the gateway, pair = finding partners, plan = id lists, kill = by-id kill ioctls):`, '');
    const phases = ['read', 'select', 'pair', 'plan', 'kill'];
    if (!compact) L.push(`| states | ${phases.join(' | ')} | total (wall) | killed |`, `|---:|${phases.map(() => '---:').join('|')}|---:|---:|`);
    for (const n of compact ? [] : sizes) {
      const s = get(pf, HEADLINE, n);
      if (!s?.phasesMs) continue;
      L.push(`| ${fmtN(n)} | ${phases.map((p) => (s.phasesMs[p] ? `${fmtMs(s.phasesMs[p].median)} (${((100 * s.phasesMs[p].median) / s.ms.median).toFixed(0)}%)` : '–')).join(' | ')} | ${fmtMs(s.ms.median)} | ${s.killed} |`);
    }
    if (!compact) L.push('', `**Memory** (${HEADLINE}, median peak RSS of the case process). The simulated kernel keeps its own copy of the table in the same process; "kernel copy" is the RSS growth from generating it, measured before statekill reads anything, and "peak − kernel copy" is what statekill needs beside a real kernel (including Node's own ~60 MiB).`, '');
    if (!compact) L.push('| states | raw table (n × 384 B) | kernel copy | peak RSS | peak − kernel copy | ÷ raw (with copy) | ÷ raw (without copy) | growth during the kill ÷ raw |', '|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const n of compact ? [] : sizes) {
      const s = get(pf, HEADLINE, n);
      if (!s) continue;
      L.push(`| ${fmtN(n)} | ${MiB(s.rawBytes)} | ${MiB(s.kernelCopyBytes.median)} | ${MiB(s.peakRssBytes.median)} | ${MiB(s.peakMinusKernelBytes.median)} | ${x(s.peakRssBytes.median / s.rawBytes)} | ${x(s.peakMinusKernelBytes.median / s.rawBytes)} | ${x((s.peakRssBytes.median - s.rssAfterGenBytes.median) / s.rawBytes)} |`);
    }
    L.push('');
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
  } else if (ct?.skipped) L.push(`Linux conntrack cases skipped: ${ct.skipped}.`, '');
  if (nl) {
    L.push('**ioctl vs netlink transport** (from `bench/results/netlink-vs-ioctl.json`, written by `bench/netlink-vs-ioctl.mjs`):', '', '```json', JSON.stringify(nl.summary ?? nl, null, 2).slice(0, 4000), '```', '');
  } else L.push('ioctl vs netlink transport: not measured yet (`bench/netlink-vs-ioctl.mjs` does not exist; `bench/run.mjs` runs it once it does).', '');
  const tg = targets(pf, ct);
  if (tg.length) {
    L.push('**Targets** (a benchmark, not a timed test):', '', '| target | measured | met? |', '|---|---|---|');
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
  const nl = readJson(path.join(here, 'results', 'netlink-vs-ioctl.json'));
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
