/** CARP role from `ifconfig` output. */
import { describe, expect, it } from 'vitest';
import { carpRole, parseIfconfigCarp, probeCarpRole } from '../src/policy/carp.js';

const IFCONFIG = `igb0: flags=1008943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500
	options=4e527bb<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,JUMBO_MTU,VLAN_HWCSUM,TSO4,TSO6,LRO,WOL_MAGIC,VLAN_HWFILTER,VLAN_HWTSO,RXCSUM_IPV6,TXCSUM_IPV6,HWSTATS,MEXTPG>
	ether 00:0c:29:aa:bb:01
	inet 198.51.100.2 netmask 0xffffff00 broadcast 198.51.100.255
	inet 198.51.100.10 netmask 0xffffff00 broadcast 198.51.100.255 vhid 1
	carp: MASTER vhid 1 advbase 1 advskew 0
	media: Ethernet autoselect (1000baseT <full-duplex>)
	status: active
igb1: flags=1008943<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500
	inet 203.0.113.10 netmask 0xffffff00 broadcast 203.0.113.255 vhid 2
	carp: BACKUP vhid 2 advbase 1 advskew 100
	carp: INIT vhid 3 advbase 1 advskew 0
lo0: flags=1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP> metric 0 mtu 16384
	inet 127.0.0.1 netmask 0xff000000
`;

describe('CARP', () => {
  it('parses carp lines with their interface', () => {
    expect(parseIfconfigCarp(IFCONFIG)).toEqual([
      { ifname: 'igb0', state: 'MASTER', vhid: 1, advbase: 1, advskew: 0 },
      { ifname: 'igb1', state: 'BACKUP', vhid: 2, advbase: 1, advskew: 100 },
      { ifname: 'igb1', state: 'INIT', vhid: 3, advbase: 1, advskew: 0 },
    ]);
  });

  it('is master only where every matching VHID is MASTER, and says what it saw', () => {
    const e = parseIfconfigCarp(IFCONFIG);
    expect(carpRole(e, { vhid: 1 })).toEqual({ master: true, detail: 'this node is CARP MASTER for vhid 1 on igb0' });
    expect(carpRole(e, { vhid: 2 })).toEqual({ master: false, detail: 'this node is CARP BACKUP for vhid 2 on igb1' });
    expect(carpRole(e, { interface: 'igb1' })).toEqual({ master: false, detail: 'this node is CARP BACKUP for vhid 2 on igb1' });
    expect(carpRole(e, { vhid: 9 })).toEqual({ master: false, detail: 'no CARP vhid 9 found on this node' });
    expect(carpRole(parseIfconfigCarp('em0: flags=8843<UP> metric 0 mtu 1500\n\tinet 10.0.0.1\n'), {})).toEqual({ master: false, detail: 'no CARP any vhid found on this node' });
  });

  it('a failing probe is not master', async () => {
    expect(await probeCarpRole(() => Promise.reject(new Error('ifconfig: not found')), { vhid: 1 })).toEqual({ master: false, detail: 'CARP role unknown (ifconfig: not found)' });
  });
});
