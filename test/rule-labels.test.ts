/**
 * Rule labels: reading the main ruleset's filter rule labels from the kernel (DIOCGETRULES +
 * DIOCGETRULENV / DIOCGETRULE, netlink GETRULES + GETRULE) and `Selection.labels` / `--label`,
 * differential against the simulated kernel's own `pfctl -k label` kill.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { PfBackend } from '../src/backends/pf.js';
import { PfNetlinkBackend } from '../src/backends/pf-netlink.js';
import { createSimKernel } from '../src/backends/sim.js';
import { openTable, plannedStates } from '../src/index.js';
import { closeSelectPool } from '../src/engine/select.js';
import { validateSelections } from '../src/engine/validate.js';
import type { Selection } from '../src/engine/types.js';
import { decodeState } from '../src/table/records.js';
import type { SimKernelHandle } from '../src/native/types-sim.js';

afterAll(closeSelectPool);

const LABELS: Array<[number, string[]]> = [
  [10, ['gw:WAN1:tier1', 'policy']], [20, ['default-nat']], [40, ['policy', 'rdr:web', 'a', 'b', 'c']], [60, ['to-fw']],
];
function labelled(version: 12 | 13 | 14 | 15, opts: { minor?: 0; compat14?: boolean } = {}, seed = 4): SimKernelHandle {
  const k = createSimKernel({ generate: { states: 6000, seed }, version, ...opts });
  for (const [r, l] of LABELS) k.setRuleLabels(r, l);
  return k;
}

const PERSONALITIES = [
  ['12.x', 12, {}], ['13.1+', 13, {}], ['14.0', 14, { minor: 0 }], ['14', 14, {}], ['15 + COMPAT_FREEBSD14', 15, { compat14: true }], ['15', 15, {}],
] as const;

describe('reading rule labels from the kernel', () => {
  for (const [name, version, opts] of PERSONALITIES) {
    for (const transport of ['ioctl', 'netlink'] as const) {
      if (transport === 'netlink' && version < 14) continue;
      if (transport === 'ioctl' && version === 15 && !('compat14' in opts)) continue; // reads only over netlink
      it(`${name} over ${transport}`, () => {
        const k = labelled(version, opts);
        const be = transport === 'ioctl' ? PfBackend.onSim(k) : PfNetlinkBackend.onSim(k);
        const m = be.ruleLabels();
        // 12.x's rule struct has a single label; 13.0+ all five.
        const want = new Map(LABELS.map(([r, l]) => [r, version === 12 ? l.slice(0, 1) : l]));
        expect(m).toEqual(want);
        be.close();
      });
    }
  }

  it('which command answered: netlink GETRULES/GETRULE where listed, else the ioctls (learning pfioc_rule\'s size)', () => {
    const nl = PfNetlinkBackend.onSim(labelled(14, { minor: 0 }));
    expect(nl.describe().netlink).toMatchObject({ ops: [1, 2, 3, 4] });
    expect(nl.ruleLabels().size).toBe(4); // over the ioctls behind it
    const dev = new native.PfDevice(labelled(13));
    expect(dev.describe().rules).toBe('none');
    dev.ruleLabels();
    expect(dev.describe().rules).toBe('DIOCGETRULENV');
    const old = new native.PfDevice(labelled(12));
    old.ruleLabels();
    expect(old.describe().rules).toBe('DIOCGETRULE');
  });

  it('a ruleset without rules has no labels', () => {
    expect(PfBackend.onSim(createSimKernel({ version: 14 })).ruleLabels().size).toBe(0);
  });
});

describe('selecting by label, against the kernel\'s own label kill (pfctl -k label)', () => {
  for (const [name, version, opts] of PERSONALITIES) {
    it(`${name}: the engine kills exactly what the kernel's label kill kills`, async () => {
      for (const label of ['policy', 'to-fw', 'default-nat', 'rdr:web', 'gw:WAN1:tier1', 'nothing-has-this']) {
        const a = labelled(version, opts), b = labelled(version, opts);
        const viaKernel = new native.PfDevice(a); // both filter paths (struct on 12.x, NV later)
        const killed = viaKernel.killByFilter({ label });
        const t = await openTable({ sim: b });
        const { report } = await t.kill([{ labels: [label] }], { pair: false });
        expect(report.killed, label).toBe(killed);
        const ids = async (k: SimKernelHandle) => {
          const tt = await openTable({ sim: k });
          const s = await tt.snapshot();
          await tt.close();
          return Array.from({ length: s.count }, (_, i) => decodeState(s.bytes, i, s.layout).id).sort();
        };
        expect(await ids(b), label).toEqual(await ids(a));
        await t.close();
      }
    });
  }

  it('several labels OR together', async () => {
    const t = await openTable({ sim: labelled(14) });
    const one = await t.plan([{ labels: ['to-fw'] }]);
    const both = await t.plan([{ labels: ['to-fw', 'default-nat'] }]);
    const nat = await t.plan([{ labels: ['default-nat'] }]);
    expect(both.counts.selected).toBe(one.counts.selected + nat.counts.selected);
    expect(nat.counts.selected).toBeGreaterThan(0);
    const none = await t.plan([{ labels: ['nothing-has-this'] }]);
    expect(none.counts.selected).toBe(0); // a label no rule carries selects nothing, never everything
    await t.close();
  });

  it('a state created inside an anchor is never selected by a main-ruleset label (its rule number is the anchor\'s)', async () => {
    const state = (id: string, anchor?: number) => ({ id, creatorid: '0badc0de', ifname: 'igb1', af: 'inet', proto: 'tcp', direction: 'in',
      key: [{ addr: ['192.168.1.5', '1.1.1.1'], port: [Number.parseInt(id, 16) + 1000, 443] },
        { addr: ['192.168.1.5', '1.1.1.1'], port: [Number.parseInt(id, 16) + 1000, 443] }], rule: 7, ...(anchor === undefined ? {} : { anchor }) });
    const dir = mkdtempSync(path.join(tmpdir(), 'sk-labels-'));
    const file = path.join(dir, 't.jsonl');
    writeFileSync(file, [state('0000000000000001'), state('0000000000000002', 3)].map((s) => JSON.stringify(s)).join('\n'));
    const k = createSimKernel({ file, version: 14 });
    k.setRuleLabels(7, ['web']);
    const t = await openTable({ sim: k });
    const plan = await t.plan([{ labels: ['web'] }]);
    expect([...plannedStates(plan)].map((s) => s.id)).toEqual(['0000000000000001']);
    await t.close();
    const k2 = createSimKernel({ file, version: 14 });
    k2.setRuleLabels(7, ['web']);
    expect(new native.PfDevice(k2).killByFilter({ label: 'web' })).toBe(1); // the kernel's own label kill agrees
  });
});

describe('validation and the CLI', () => {
  it('labels: non-empty strings of at most 63 bytes, pf only', () => {
    const validateLabels = (labels: unknown, backend: 'pf' | 'conntrack') =>
      validateSelections([{ labels } as Selection], { backend }).selections[0].labels;
    expect(validateLabels(['gw:WAN1'], 'pf')).toEqual(['gw:WAN1']);
    for (const bad of [[], [''], ['x'.repeat(64)], ['é'.repeat(32)], ['a\0b'], [5], 'gw:WAN1'])
      expect(() => validateLabels(bad, 'pf'), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
    expect(validateLabels(['x'.repeat(63)], 'pf')).toHaveLength(1);
    expect(() => validateLabels(['a'], 'conntrack')).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
  });

  it('the library refuses labels where the backend reads none (conntrack-like backends)', async () => {
    const k = labelled(14);
    const be = PfBackend.onSim(k);
    const t = await openTable({ backend: { describe: () => be.describe(), read: () => be.read(), kill: be.kill.bind(be), flush: () => 0, close: () => be.close() } });
    await expect(t.plan([{ labels: ['policy'] }])).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
    await t.close();
  });

  it('--label is repeatable, validated, pf only', () => {
    const bin = new URL('../bin/statekill.js', import.meta.url).pathname;
    const fixture = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    const ok = run('kill', '--sim', fixture, '--label', 'nothing', '--label', 'other', '--dry-run', '--json');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ selected: 0, killed: 0 });
    expect(run('kill', '--sim', fixture, '--label', '').status).toBe(2);
    expect(run('kill', '--sim', fixture, '--label', 'x'.repeat(64)).status).toBe(2);
    expect(run('kill', '--backend', 'conntrack', '--label', 'x').status).toBe(2);
  });
});
