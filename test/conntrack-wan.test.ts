/**
 * Dual-WAN router on the real kernel, all inside namespaces of our own (conntrack.md §4):
 *
 *   cli 10.91.0.2 ─ lan0 [rtr] wan1 10.91.1.2 ─ [isp1] ─ 10.91.11.10 ┐
 *                        [rtr] wan2 10.91.2.2 ─ [isp2] ─ 10.91.12.10 ┴ [srv] 10.91.99.80:8080 (echo)
 *
 * The router picks a WAN per new flow (client source port parity), keeps the choice in the ct mark
 * (mwan3-style 0x100 / 0x200 under 0xff00), routes by fwmark and masquerades per WAN. After the
 * steering moves new flows to WAN2, killing WAN1's entries by mark must break exactly WAN1's
 * connections (reset or stall) while WAN2's keep carrying data. Before the kill, the steering
 * change alone must not break anything: that is what makes this test able to fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { ConntrackBackend } from '../src/backends/conntrack.js';
import { compileSelection } from '../src/engine/compile.js';
import { decodeCtRecord } from '../src/backends/conntrack-record.js';
import { addNs, delAllNs, inNs, leftoverNs, netnsUnavailable, nsName, sh } from './conntrack-netns.js';

// Only a kernel (or user) that refuses namespaces skips; a missing nft is a setup error and fails.
const why = netnsUnavailable();
if (why) console.log(`conntrack-wan: skipping: ${why}`);

function hasNft(): boolean {
  try {
    sh('nft', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const SERVER = `
import net from 'node:net';
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); })
  .listen(8080, '10.91.99.80', () => console.log('listening'));
`;

// Holds one connection per source port; each stdin line (a timeout in ms) pings every connection
// and prints {port: 'ok' | 'timeout' | error code}. A connection that failed stays failed.
const CLIENT = `
import net from 'node:net';
import { createInterface } from 'node:readline';
const ports = JSON.parse(process.argv[2]);
const st = new Map();
let up = 0;
for (const p of ports) {
  const c = { err: null, buf: '', onData: null, onErr: null };
  c.s = net.connect({ host: '10.91.99.80', port: 8080, localAddress: '10.91.0.2', localPort: p }, () => {
    if (++up === ports.length) console.log(JSON.stringify({ ready: true }));
  });
  c.s.on('data', (d) => { c.buf += d; if (c.buf.includes('\\n')) { c.buf = ''; c.onData?.(); } });
  c.s.on('error', (e) => { c.err ??= e.code || 'error'; c.onErr?.(); });
  c.s.on('close', () => { c.err ??= 'closed'; c.onErr?.(); });
  st.set(p, c);
}
function ping(c, ms) {
  if (c.err) return Promise.resolve(c.err);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), ms);
    c.onData = () => { clearTimeout(t); resolve('ok'); };
    c.onErr = () => { clearTimeout(t); resolve(c.err); };
    c.s.write('ping\\n');
  });
}
createInterface({ input: process.stdin }).on('line', async (l) => {
  const ms = Number(l) || 2000;
  const res = await Promise.all(ports.map((p) => ping(st.get(p), ms)));
  console.log(JSON.stringify(Object.fromEntries(ports.map((p, i) => [p, res[i]]))));
});
`;

const WAN1_PORTS = [40000, 40002, 40004];
const WAN2_PORTS = [40001, 40003, 40005];
const MASK = 0xff00;

describe.skipIf(why !== null)('dual-WAN router: kill WAN1 by mark, WAN2 carries on', () => {
  const n = { cli: nsName('cli'), rtr: nsName('rtr'), isp1: nsName('i1'), isp2: nsName('i2'), srv: nsName('srv') };
  const dir = mkdtempSync(path.join(tmpdir(), 'skct-'));
  const procs: ChildProcess[] = [];
  let client: ChildProcess;
  let lines: AsyncIterator<string>;

  const ipn = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);
  function veth(a: string, an: string, b: string, bn: string) {
    sh('ip', ['link', 'add', 'skctv0', 'netns', a, 'type', 'veth', 'peer', 'name', 'skctv1', 'netns', b]);
    ipn(a, 'link', 'set', 'skctv0', 'name', an);
    ipn(b, 'link', 'set', 'skctv1', 'name', bn);
    ipn(a, 'link', 'set', an, 'up');
    ipn(b, 'link', 'set', bn, 'up');
  }
  const addr = (ns: string, dev: string, cidr: string) => ipn(ns, 'addr', 'add', cidr, 'dev', dev);
  const sysctl = (ns: string, kv: string) => inNs(ns, 'sysctl', ['-qw', kv]);
  const nft = (ns: string, script: string) => {
    const f = path.join(dir, `nft-${Math.random().toString(36).slice(2)}.nft`);
    writeFileSync(f, script);
    inNs(ns, 'nft', ['-f', f]);
  };

  async function startIn(ns: string, file: string, args: string[], ready: (l: string) => boolean) {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    procs.push(p);
    const it = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
    const t = setTimeout(() => p.kill(), 10_000);
    for (;;) {
      const r = await it.next();
      if (r.done) throw new Error(`${file} in ${ns} exited before it was ready`);
      if (ready(r.value)) break;
    }
    clearTimeout(t);
    return { p, it };
  }

  async function ping(ms: number): Promise<Record<string, string>> {
    client.stdin!.write(`${ms}\n`);
    const r = await lines.next();
    if (r.done) throw new Error('client exited');
    return JSON.parse(r.value);
  }

  function routerEntries(mark: number) {
    const be = new ConntrackBackend({ netns: n.rtr, readFilter: { mark: { value: mark, mask: MASK } } });
    return be.read().then((s) => {
      be.close();
      const out = [];
      for (let i = 0; i < s.count; i++) out.push(decodeCtRecord(s.bytes, i));
      return out.filter((e) => e.dstPort === 8080);
    });
  }

  beforeAll(async () => {
    if (!hasNft()) throw new Error('nft not found: install the Debian package nftables (bash scripts/system-deps.sh nftables)');
    for (const ns of Object.values(n)) addNs(ns);
    veth(n.cli, 'eth0', n.rtr, 'lan0');
    veth(n.rtr, 'wan1', n.isp1, 'down0');
    veth(n.rtr, 'wan2', n.isp2, 'down0');
    veth(n.isp1, 'up0', n.srv, 'isp1');
    veth(n.isp2, 'up0', n.srv, 'isp2');
    addr(n.cli, 'eth0', '10.91.0.2/24');
    ipn(n.cli, 'route', 'add', 'default', 'via', '10.91.0.1');
    addr(n.rtr, 'lan0', '10.91.0.1/24');
    addr(n.rtr, 'wan1', '10.91.1.2/30');
    addr(n.rtr, 'wan2', '10.91.2.2/30');
    addr(n.isp1, 'down0', '10.91.1.1/30');
    addr(n.isp2, 'down0', '10.91.2.1/30');
    addr(n.isp1, 'up0', '10.91.11.1/24');
    addr(n.isp2, 'up0', '10.91.12.1/24');
    addr(n.srv, 'isp1', '10.91.11.10/24');
    addr(n.srv, 'isp2', '10.91.12.10/24');
    addr(n.srv, 'lo', '10.91.99.80/32');
    for (const isp of [n.isp1, n.isp2]) sysctl(isp, 'net.ipv4.ip_forward=1');
    ipn(n.isp1, 'route', 'add', '10.91.99.80/32', 'via', '10.91.11.10');
    ipn(n.isp2, 'route', 'add', '10.91.99.80/32', 'via', '10.91.12.10');
    // The server answers each WAN through the ISP that owns its prefix.
    ipn(n.srv, 'route', 'add', '10.91.1.0/30', 'via', '10.91.11.1');
    ipn(n.srv, 'route', 'add', '10.91.2.0/30', 'via', '10.91.12.1');
    sysctl(n.rtr, 'net.ipv4.ip_forward=1');
    for (const k of ['all', 'default', 'lan0', 'wan1', 'wan2']) sysctl(n.rtr, `net.ipv4.conf.${k}.rp_filter=0`);
    ipn(n.rtr, 'route', 'add', 'default', 'via', '10.91.1.1', 'table', '101');
    ipn(n.rtr, 'route', 'add', 'default', 'via', '10.91.2.1', 'table', '102');
    ipn(n.rtr, 'rule', 'add', 'fwmark', '0x100/0xff00', 'lookup', '101', 'pref', '1001');
    ipn(n.rtr, 'rule', 'add', 'fwmark', '0x200/0xff00', 'lookup', '102', 'pref', '1002');
    nft(n.rtr, `
table inet mw {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    iifname "lan0" ct state new ct mark 0 tcp sport & 1 == 0 ct mark set 0x100
    iifname "lan0" ct state new ct mark 0 tcp sport & 1 == 1 ct mark set 0x200
    iifname "lan0" meta mark set ct mark
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan1" masquerade
    oifname "wan2" masquerade
  }
}
`);
    const server = path.join(dir, 'server.mjs');
    const cli = path.join(dir, 'client.mjs');
    writeFileSync(server, SERVER);
    writeFileSync(cli, CLIENT);
    await startIn(n.srv, server, [], (l) => l === 'listening');
    const c = await startIn(n.cli, cli, [JSON.stringify([...WAN1_PORTS, ...WAN2_PORTS].sort())], (l) => l.includes('ready'));
    client = c.p;
    lines = c.it;
  }, 30_000);

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    delAllNs();
    rmSync(dir, { recursive: true, force: true });
    expect(leftoverNs()).toEqual([]);
  });

  it('both WANs carry data, and the router marks each flow with its WAN', async () => {
    const r = await ping(2000);
    for (const p of [...WAN1_PORTS, ...WAN2_PORTS]) expect(r[p]).toBe('ok');
    const w1 = await routerEntries(0x100);
    const w2 = await routerEntries(0x200);
    expect(w1.map((e) => e.srcPort).sort()).toEqual(WAN1_PORTS);
    expect(w2.map((e) => e.srcPort).sort()).toEqual(WAN2_PORTS);
    for (const e of w1) expect(e.replyDst).toBe('10.91.1.2'); // masqueraded to WAN1's address
    for (const e of w2) expect(e.replyDst).toBe('10.91.2.2');
  });

  it('moving new flows to WAN2 alone does not break WAN1 connections (their entries pin them)', async () => {
    nft(n.rtr, `
flush chain inet mw pre
table inet mw {
  chain pre {
    iifname "lan0" ct state new ct mark 0 ct mark set 0x200
    iifname "lan0" meta mark set ct mark
  }
}
`);
    const r = await ping(2000);
    for (const p of [...WAN1_PORTS, ...WAN2_PORTS]) expect(r[p]).toBe('ok');
  });

  it('killing WAN1 by mark resets or stalls WAN1 connections only', async () => {
    const be = new ConntrackBackend({ netns: n.rtr, readFilter: { mark: { value: 0x100, mask: MASK } } });
    try {
      const snap = await be.read();
      const idx = new Int32Array(snap.count);
      const k = native.ctSelect(snap.bytes, 0, snap.count, [compileSelection({ mark: { value: 0x100, mask: MASK } }, 0)], idx,
        new Uint32Array(snap.count));
      expect(k).toBe(WAN1_PORTS.length);
      const out = new Int32Array(k);
      be.kill(snap, idx.subarray(0, k), out);
      expect([...out]).toEqual([0, 0, 0]);
    } finally {
      be.close();
    }
    expect(await routerEntries(0x100)).toEqual([]);

    // The next packet of a WAN1 flow is picked up as a new flow, leaves via WAN2 with WAN2's
    // address, and the server (which never saw that 4-tuple) resets it.
    const r = await ping(3000);
    for (const p of WAN2_PORTS) expect(r[p]).toBe('ok');
    for (const p of WAN1_PORTS) expect(['ECONNRESET', 'timeout', 'closed', 'EPIPE']).toContain(r[p]);
    const again = await ping(3000);
    for (const p of WAN2_PORTS) expect(again[p]).toBe('ok');
    for (const p of WAN1_PORTS) expect(again[p]).not.toBe('ok');
    console.log(`conntrack-wan: after the kill: ${JSON.stringify(r)}; then ${JSON.stringify(again)}`);
  });
});
