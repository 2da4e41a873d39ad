/**
 * Table files at the edges (issue 10 items 17 and 21): what a file may not carry (zone ids in
 * addresses), what an error may not echo (a 50 MB field), where an error points (file and line),
 * what a file of comments costs, and what JSON Lines output keeps (labels, 16-bit state_flags,
 * 64-bit counters).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTable } from '../src/index.js';
import { jsonLines, parseJsonl, parseJsonlBytes, stateToJson } from '../src/table/jsonl.js';
import { loadTableFile, saveTableFile } from '../src/table/file.js';

const ROOT = new URL('..', import.meta.url).pathname;
const FIXTURE = path.join(ROOT, 'test/fixtures/small-table.jsonl');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sk-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const good = readFileSync(FIXTURE, 'utf8').split('\n').filter((l) => l.startsWith('{'));
const write = (name: string, content: string | Buffer) => { const p = path.join(dir, name); writeFileSync(p, content); return p; };

function refusal(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(e).toMatchObject({ code: 'E_BAD_INPUT' });
    return e as Error;
  }
  throw new Error('not refused');
}

describe('what a JSON Lines file may not carry', () => {
  it('a zone id in an address is refused (fe80::1%1.2.3.4 was loaded as fe80::1:304)', () => {
    for (const bad of ['fe80::1%1.2.3.4', 'fe80::1%igb0', '2001:db8:1::10%2']) {
      const line = good[6].replace('"2001:db8:1::10"', JSON.stringify(bad));
      const e = refusal(() => loadTableFile(write('zone.jsonl', `${line}\n`)));
      expect(e.message).toMatch(/zone\.jsonl line 1: field 'key\[0\]\.addr\[0\]': expected an inet6 address/);
    }
    const rt = good[6].replace('"rt_addr":"fe80::1"', '"rt_addr":"fe80::1%igb0"');
    expect(refusal(() => loadTableFile(write('zone-rt.jsonl', rt))).message).toMatch(/field 'rt_addr'/);
  });

  // Found beside test/conntrack-property.test.ts's `--proto constructor`: the name table is a plain
  // object, so Object.prototype's keys were protocol "names" (proto 0 here).
  it('a protocol name is one of the names, never an Object.prototype key ("constructor" loaded as proto 0)', () => {
    for (const bad of ['constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const line = good[0].replace('"proto":"tcp"', `"proto":${JSON.stringify(bad)}`);
      const e = refusal(() => loadTableFile(write('proto.jsonl', `${line}\n`)));
      expect(e.message).toMatch(/proto\.jsonl line 1: field 'proto': expected a protocol name or number 0-255/);
    }
    expect(loadTableFile(write('proto.jsonl', `${good[0].replace('"proto":"tcp"', '"proto":"UDP"')}\n`)).count).toBe(1);
  });

  it('a 50 MB field is not echoed into the error', () => {
    const huge = 'x'.repeat(50 * 1024 * 1024);
    for (const line of [good[0].replace('"igb1"', JSON.stringify(huge)), good[0].replace('"af":"inet"', `"af":${JSON.stringify(huge)}`),
      good[0].replace('"id":', `${JSON.stringify(huge)}:1,"id":`)]) {
      const e = refusal(() => parseJsonl(line, 'big.jsonl'));
      expect(e.message.length).toBeLessThan(300);
      expect(e.message).toMatch(/^big\.jsonl line 1: field /);
    }
  });

  it('a duplicate state names the file and both lines (it said "record 1")', async () => {
    const file = write('dup.jsonl', ['# comment', good[0], '', good[1], good[0]].join('\n'));
    await expect(openTable({ sim: { file } })).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/dup\.jsonl line 5: duplicate state/) });
    const raw = loadTableFile(FIXTURE);
    const dump = Buffer.concat([Buffer.from(raw.records), Buffer.from(raw.records.subarray(384, 768))]);
    await expect(openTable({ sim: { file: write('dup.v2', dump) } })).rejects.toMatchObject({
      message: expect.stringMatching(/dup\.v2 record 9 \(bytes 3072-3455\): duplicate state/),
    });
  });

  it('rule numbers up to 4294967294 load and print as they were; labels of one rule must agree', () => {
    const big = good[0].replace('"rule":10', '"rule":4294967294').replace(',"labels":["wan1-policy"]', '');
    const t = parseJsonl(big);
    expect(stateToJson(t.records, 0, 'pf-export').rule).toBe(4294967294);
    expect(refusal(() => parseJsonl(good[0].replace('"rule":10', '"rule":4294967295'))).message).toMatch(/field 'rule'/);
    const other = good[1].replace('"rule":10', '"rule":10,"labels":["other"]');
    expect(refusal(() => parseJsonl([good[0], other].join('\n'))).message).toMatch(/line 2: field 'labels': rule 10 already has labels/);
  });
});

describe('what a file costs', () => {
  it('a file beyond 2 GiB is refused before it is read (sparse: no disk used)', () => {
    const file = path.join(dir, 'huge.v2');
    writeFileSync(file, '');
    truncateSync(file, 3 * 1024 ** 3);
    const t0 = performance.now();
    expect(refusal(() => loadTableFile(file)).message).toMatch(/huge\.v2 is 3221225472 bytes; at most 2147483647 \(2 GiB\) can be loaded/);
    expect(performance.now() - t0).toBeLessThan(1000);
    rmSync(file);
  });

  it('20M comment lines load as an empty table (it crashed with a RangeError)', () => {
    const file = write('comments.jsonl', Buffer.alloc(20_000_000 * 2, '#\n'));
    const t = loadTableFile(file);
    expect(t.count).toBe(0);
    rmSync(file);
  });

  it('data lines among millions of blank ones keep their line numbers', () => {
    const text = `${'\n'.repeat(3_000_000)}${good[0]}\n${' \t\n'.repeat(10)}${good[1]}\n`;
    const t = parseJsonlBytes(Buffer.from(text), 'sparse');
    expect(t.count).toBe(2);
    expect(Array.from(t.lines)).toEqual([3_000_001, 3_000_012]);
    expect(parseJsonl(text).lines).toEqual(t.lines);
  });
});

describe('what JSON Lines output keeps', () => {
  const rich = good[0]
    .replace('"rule":10', '"rule":10,"state_flags":4660,"packets":["18446744073709551615",7],"bytes":["9007199254740993",9007199254740991]');

  it('state_flags keeps its 16 bits (4660 came back as 52) and u64 counters stay exact (strings beyond 2^53-1)', () => {
    const t = parseJsonl(rich);
    const o = stateToJson(t.records, 0, 'pf-export');
    expect(o.state_flags).toBe(4660);
    expect(o.packets).toEqual(['18446744073709551615', 7]);
    expect(o.bytes).toEqual(['9007199254740993', 9007199254740991]);
    // As a JSON number 9007199254740993 would already be 9007199254740992 when parsed: refused.
    expect(refusal(() => parseJsonl(rich.replace('"9007199254740993"', '9007199254740993'))).message).toMatch(/field 'bytes'/);
    expect(refusal(() => parseJsonl(rich.replace('"18446744073709551615"', '"18446744073709551616"'))).message).toMatch(/field 'packets'/);
    const back = parseJsonl(JSON.stringify(o));
    expect(Buffer.from(back.records).equals(Buffer.from(t.records))).toBe(true);
  });

  it('save and list --json keep labels; a --sim-save keeps them for the next command', () => {
    const t = parseJsonl(readFileSync(FIXTURE, 'utf8'));
    const out = [...jsonLines(t.records, t.count, 'pf-export', t.ruleLabels)].map((l) => JSON.parse(l));
    expect(out[0].labels).toEqual(['wan1-policy']);
    expect(out[1].labels).toEqual(['wan1-policy']); // same rule 10
    expect(out[2].labels).toBeUndefined();

    const bin = path.join(ROOT, 'bin/statekill.js');
    const saved = path.join(dir, 'saved.jsonl');
    execFileSync(process.execPath, [bin, 'save', saved, '--sim', FIXTURE], { stdio: 'pipe' });
    expect(JSON.parse(readFileSync(saved, 'utf8').split('\n')[0]).labels).toEqual(['wan1-policy']);
    const listed = execFileSync(process.execPath, [bin, 'list', '--json', '--sim', FIXTURE, '--rule', '10'], { encoding: 'utf8' });
    expect(listed.trim().split('\n').map((l) => JSON.parse(l).labels)).toEqual([['wan1-policy'], ['wan1-policy']]);
    const after = path.join(dir, 'after.jsonl');
    execFileSync(process.execPath, [bin, 'kill', '--sim', FIXTURE, '--rule', '11', '--sim-save', after], { stdio: 'pipe' });
    expect(readFileSync(after, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).labels ?? null).slice(0, 2)).toEqual([['wan1-policy'], ['wan1-policy']]);
  });

  it('a save that cannot be written is a one-line error (E_BAD_INPUT), not a stack trace', () => {
    const t = parseJsonl(good[0]);
    expect(refusal(() => saveTableFile(path.join(dir, 'missing', 'x.jsonl'), t.records, 1, 'pf-export', 'jsonl')).message)
      .toMatch(/^cannot write .*missing\/x\.jsonl: ENOENT$/);
  });
});
