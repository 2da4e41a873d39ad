/**
 * One contract for every pf kernel statekill talks to (serialport's pattern): it always runs
 * against the simulated kernel, over both transports, and against the real /dev/pf where there
 * is one (FreeBSD, as root, with STATEKILL_TEST_REAL_PF=1: it only reads, and kills an id that does
 * not exist, but it is a live firewall).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PfBackend } from '../src/backends/pf.js';
import { PfNetlinkBackend } from '../src/backends/pf-netlink.js';
import { createSimKernel } from '../src/backends/sim.js';
import { decodeState } from '../src/table/records.js';
import type { Backend } from '../src/engine/types.js';

interface Target {
  name: string;
  open: () => Backend & { killByFilter(f: object): number };
  /** A simulated table holds these states; a real one holds whatever it holds. */
  knownCount?: number;
}

const FIXTURE = new URL('./fixtures/small-table.jsonl', import.meta.url).pathname;
const sim = (version: 12 | 13 | 14 | 15, compat14 = false) => createSimKernel({ file: FIXTURE, version, compat14 });

const targets: Target[] = [
  { name: 'simulated FreeBSD 12 (ioctl)', open: () => PfBackend.onSim(sim(12)), knownCount: 8 },
  { name: 'simulated FreeBSD 13.1+ (ioctl)', open: () => PfBackend.onSim(sim(13)), knownCount: 8 },
  { name: 'simulated FreeBSD 14 (ioctl)', open: () => PfBackend.onSim(sim(14)), knownCount: 8 },
  { name: 'simulated FreeBSD 14 (netlink)', open: () => PfNetlinkBackend.onSim(sim(14)), knownCount: 8 },
  { name: 'simulated FreeBSD 15 (netlink)', open: () => PfNetlinkBackend.onSim(sim(15)), knownCount: 8 },
  { name: 'simulated FreeBSD 15 + COMPAT_FREEBSD14 (ioctl)', open: () => PfBackend.onSim(sim(15, true)), knownCount: 8 },
];

function realPfUnavailable(): string | null {
  if (process.platform !== 'freebsd') return `not FreeBSD (${process.platform}): the real-pf contract runs only there`;
  if (!existsSync('/dev/pf')) return 'no /dev/pf (pf not loaded)';
  if (process.getuid?.() !== 0) return 'not root';
  if (process.env.STATEKILL_TEST_REAL_PF !== '1') return 'set STATEKILL_TEST_REAL_PF=1 to run against the live firewall';
  return null;
}
const realWhy = realPfUnavailable();
if (realWhy) console.log(`pf contract: real /dev/pf skipped: ${realWhy}`);
else targets.push({ name: 'real /dev/pf', open: () => PfBackend.open('/dev/pf') });

for (const t of targets) {
  describe(`pf contract: ${t.name}`, () => {
    it('describes the paths it picked, all named', () => {
      const b = t.open();
      const d = b.describe();
      expect(d.paths.read).toMatch(/^(DIOCGETSTATESV2|DIOCGETSTATES|netlink GETSTATES)$/);
      expect(d.paths.killById).toMatch(/DIOCKILLSTATES|KILLSTATES/);
      b.close();
    });
    it('reads whole records with a known layout, ids unique and non-zero', async () => {
      const b = t.open();
      const s = await b.read();
      if (t.knownCount !== undefined) expect(s.count).toBe(t.knownCount);
      expect(s.bytes.byteLength).toBe(s.count * (s.layout === 'pf-1301' ? 242 : 384));
      const ids = new Set<string>();
      for (let i = 0; i < s.count; i++) {
        const d = decodeState(s.bytes, i, s.layout);
        expect(['in', 'out']).toContain(d.direction);
        expect(d.id).not.toBe('0000000000000000');
        ids.add(`${d.id}/${d.creatorid}`);
      }
      expect(ids.size).toBe(s.count);
      b.close();
    });
    it('a state that is gone counts as already gone, not as an error', async () => {
      const b = t.open();
      const s = await b.read();
      if (s.count === 0) return b.close();
      // A copy of the first record with an id no kernel has handed out.
      const copy = new Uint8Array(new SharedArrayBuffer(s.bytes.byteLength));
      copy.set(s.bytes);
      const idOff = s.layout === 'pf-1301' ? 0 : 8;
      copy.fill(0xfe, idOff, idOff + 8);
      const out = new Int32Array(1);
      b.kill({ ...s, bytes: copy }, Int32Array.of(0), out);
      expect(out[0]).toBe(1);
      b.close();
    });
    it('refuses a filter kill that would match every state, and kills nothing', async () => {
      const b = t.open();
      const before = (await b.read()).count;
      expect(() => b.killByFilter({})).toThrow(expect.objectContaining({ code: 'E_UNSAFE_FILTER' }));
      if (t.knownCount !== undefined) expect((await b.read()).count).toBe(before);
      b.close();
    });
  });
}
