/** JSON Lines and raw dumps: round trips in both ABIs, and bad input rejected with nothing loaded. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PfBackend } from '../src/backends/pf.js';
import { createSimKernel } from '../src/backends/sim.js';
import { jsonLines, parseJsonl } from '../src/table/jsonl.js';
import { loadTableFile, saveTableFile } from '../src/table/file.js';

const FIXTURE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;
const dir = mkdtempSync(path.join(os.tmpdir(), 'sk-files-'));
const dataLines = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
const stripLabels = (l: string) => { const o = JSON.parse(l); delete o.labels; return o; };

describe('JSON Lines <-> records', () => {
  it('JSON Lines -> pf_state_export -> JSON Lines gives the same states', () => {
    const t = parseJsonl(readFileSync(FIXTURE, 'utf8'));
    expect(t.count).toBe(8);
    expect(t.ruleLabels.get(10)).toEqual(['wan1-policy']);
    const back = [...jsonLines(t.records, t.count, 'pf-export')].map((l) => JSON.parse(l));
    expect(back).toEqual(dataLines(FIXTURE).map(stripLabels));
  });

  it('generated table: export dump -> 1301 dump -> export dump keeps every field 1301 carries', async () => {
    const sim = createSimKernel({ generate: { states: 3000, seed: 9 } });
    const snap = await PfBackend.onSim(sim).read();
    const jl = path.join(dir, 'g.jsonl'), d384 = path.join(dir, 'g.v2'), d242 = path.join(dir, 'g.1301');
    saveTableFile(jl, snap.bytes, snap.count, snap.layout, 'jsonl');
    saveTableFile(d384, snap.bytes, snap.count, snap.layout, 'pf-export');
    saveTableFile(d242, snap.bytes, snap.count, snap.layout, 'pf-1301');
    expect(readFileSync(d384).length).toBe(3000 * 384);
    expect(readFileSync(d242).length).toBe(3000 * 242);
    const a = loadTableFile(d384), b = loadTableFile(d242), c = loadTableFile(jl);
    expect([a.format, b.format, c.format]).toEqual(['pf-export', 'pf-1301', 'jsonl']);
    // binary (export) == its JSON Lines form, byte for byte
    expect(Buffer.from(c.records).equals(Buffer.from(a.records))).toBe(true);
    // through 1301: the fields it has survive; rt/rt_ifname/orig_ifname are 14.x-only
    const via1301 = [...jsonLines(b.records, b.count, 'pf-1301')].map((l) => JSON.parse(l));
    const direct = [...jsonLines(a.records, a.count, 'pf-export')].map((l) => {
      const o = JSON.parse(l); delete o.rt; delete o.rt_ifname; delete o.orig_ifname; return o;
    });
    expect(via1301).toEqual(direct);
  });
});

describe('bad input is rejected and nothing is loaded', () => {
  const good = dataLines(FIXTURE)[0];
  const write = (name: string, content: string | Buffer) => { const p = path.join(dir, name); writeFileSync(p, content); return p; };
  const rejects = (file: string, msg: RegExp) => {
    let err: unknown;
    try { createSimKernel({ file }); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'E_BAD_INPUT' });
    expect((err as Error).message).toMatch(msg);
  };
  it('a malformed line names its line number and field', () => {
    const bad = JSON.stringify({ ...JSON.parse(good), id: '0000000000000002', af: 'ipx' });
    rejects(write('bad-af.jsonl', `${good}\n\n${bad}\n`), /bad-af\.jsonl line 3: field 'af': expected "inet" or "inet6", got "ipx"/);
    rejects(write('bad-json.jsonl', `${good}\n{"id": \n`), /line 2: not valid JSON/);
    rejects(write('bad-addr.jsonl', good.replace('1.1.1.1', '1.1.1.300')), /line 1: field 'key\[0\]\.addr\[1\]'/);
    rejects(write('missing.jsonl', JSON.stringify({ ...JSON.parse(good), direction: undefined })), /line 1: field 'direction': required field missing/);
    rejects(write('unknown.jsonl', JSON.stringify({ ...JSON.parse(good), gateway: 'x' })), /line 1: field 'gateway': unknown field/);
  });
  it('a truncated binary dump is rejected', () => {
    const t = parseJsonl(readFileSync(FIXTURE, 'utf8'));
    rejects(write('trunc.v2', Buffer.from(t.records.subarray(0, 384 * 3 - 5))), /1147 bytes is neither JSON Lines nor a whole number of 384-byte pf_state_export or 242-byte pfsync_state records/);
  });
  it('an unknown address family in a binary dump is rejected, nothing loaded', () => {
    const t = parseJsonl(readFileSync(FIXTURE, 'utf8'));
    const b = Buffer.from(t.records);
    b[384 * 5 + 264] = 7;
    rejects(write('af7.v2', b), /af7\.v2 record 6 \(bytes 1920-2303\): unknown address family 7/);
  });
  it('a duplicate state id loads nothing', () => {
    const sim = createSimKernel({});
    const t = parseJsonl(`${good}\n${good}\n`);
    expect(() => sim.load(t.records, 384)).toThrow(/record 1: duplicate state/);
    expect(sim.count()).toBe(0);
  });
  it('an unreadable file is bad input', () => {
    rejects(path.join(dir, 'does-not-exist.jsonl'), /cannot read table file .*ENOENT/);
  });
});
