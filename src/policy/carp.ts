/**
 * CARP gating: on a backup node a kill would travel to the master through pfsync, so the policy only
 * acts where this node is MASTER. The role comes from an injectable probe; on FreeBSD it parses
 * `ifconfig` output ("carp: MASTER vhid 1 advbase 1 advskew 0").
 */
import { execFile } from 'node:child_process';

export interface CarpEntry {
  ifname: string;
  state: string; // MASTER, BACKUP, INIT
  vhid: number;
  advbase: number;
  advskew: number;
}

export type CarpProbe = () => Promise<CarpEntry[]>;

/** What the policy needs: are we master for the configured VHID/interface, and what did we see. */
export interface CarpRole {
  master: boolean;
  /** e.g. "CARP BACKUP for vhid 1 on igb0" */
  detail: string;
}

export function parseIfconfigCarp(text: string): CarpEntry[] {
  const out: CarpEntry[] = [];
  let ifname = '';
  for (const line of text.split('\n')) {
    const head = line.match(/^([A-Za-z0-9_.:-]+): flags=/);
    if (head) {
      ifname = head[1];
      continue;
    }
    const m = line.match(/^\s+carp: (\S+) vhid (\d+) advbase (\d+) advskew (\d+)/);
    if (m && ifname) out.push({ ifname, state: m[1].toUpperCase(), vhid: Number(m[2]), advbase: Number(m[3]), advskew: Number(m[4]) });
  }
  return out;
}

/** Master for every matching VHID; no matching VHID at all is not master (and says so). */
export function carpRole(entries: CarpEntry[], want: { vhid?: number; interface?: string }): CarpRole {
  const what = [want.vhid !== undefined ? `vhid ${want.vhid}` : 'any vhid', want.interface ? `on ${want.interface}` : ''].filter(Boolean).join(' ');
  const match = entries.filter((e) => (want.vhid === undefined || e.vhid === want.vhid) && (!want.interface || e.ifname === want.interface));
  if (match.length === 0) return { master: false, detail: `no CARP ${what} found on this node` };
  const notMaster = match.find((e) => e.state !== 'MASTER');
  if (notMaster) return { master: false, detail: `this node is CARP ${notMaster.state} for vhid ${notMaster.vhid} on ${notMaster.ifname}` };
  return { master: true, detail: `this node is CARP MASTER for ${match.map((e) => `vhid ${e.vhid} on ${e.ifname}`).join(', ')}` };
}

export const ifconfigProbe: CarpProbe = () =>
  new Promise((resolve, reject) => {
    execFile('/sbin/ifconfig', [], { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(parseIfconfigCarp(stdout))));
  });

export async function probeCarpRole(probe: CarpProbe, want: { vhid?: number; interface?: string }): Promise<CarpRole> {
  try {
    return carpRole(await probe(), want);
  } catch (e) {
    return { master: false, detail: `CARP role unknown (${(e as Error).message})` };
  }
}
