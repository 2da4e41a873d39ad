/**
 * One state as `pfctl -ss` prints it (and the id line `-vv` adds), following FreeBSD's
 * sbin/pfctl/pf_print_state.c print_state(): outbound "wire-src (stack-src) -> wire-dst (stack-dst)",
 * inbound "stack-dst (wire-dst) <- stack-src (wire-src)", then the two peers' state levels, the
 * initiator's first. Names: TCP from sys/netinet/tcp_fsm.h `tcpstates`, UDP/other from pfvar.h
 * PFUDPS_NAMES/PFOTHERS_NAMES, SCTP from sys/netinet/sctp.h user states.
 */
import { decodeState, protoName, RT_NAMES } from '../table/records.js';
import type { Snapshot } from '../engine/types.js';

/** Offset of pfsync_state_peer.state in src/dst peers (pf-abi.md 2.7, 2.9, 2.11). */
const PEER_STATE = { 'pf-export': [120 + 24, 152 + 24], 'pf-1301': [96 + 24, 128 + 24] } as const;

const TCP_STATES = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RCVD', 'ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING',
  'LAST_ACK', 'FIN_WAIT_2', 'TIME_WAIT'];
const PF_TCPS_PROXY_SRC = 11; // TCP_NSTATES
const PF_TCPS_PROXY_DST = 12;
const LEVELS = ['NO_TRAFFIC', 'SINGLE', 'MULTIPLE'];
// SCTP_BOUND (0x1000) and SCTP_LISTEN (0x2000) do not fit the u8 a peer keeps.
const SCTP_STATES: Record<number, string> = { 0: 'CLOSED', 0x2: 'COOKIE_WAIT', 0x4: 'COOKIE_ECHOED', 0x8: 'ESTABLISHED',
  0x10: 'SHUTDOWN_SENT', 0x20: 'SHUTDOWN_RECEIVED', 0x40: 'SHUTDOWN_ACK_SENT', 0x80: 'SHUTDOWN_PENDING' };
const TCP = 6, UDP = 17, ICMP = 1, ICMP6 = 58, SCTP = 132;

/** The state column: `src:dst` peer levels, `src` being the connection's initiator. */
export function stateLevels(proto: number, src: number, dst: number): string {
  if (proto === TCP) {
    if (src < TCP_STATES.length && dst < TCP_STATES.length) return `${TCP_STATES[src]}:${TCP_STATES[dst]}`;
    if (src === PF_TCPS_PROXY_SRC || dst === PF_TCPS_PROXY_SRC) return 'PROXY:SRC';
    if (src === PF_TCPS_PROXY_DST || dst === PF_TCPS_PROXY_DST) return 'PROXY:DST';
    return `<BAD STATE LEVELS ${src}:${dst}>`;
  }
  if (proto === UDP && src < LEVELS.length && dst < LEVELS.length) return `${LEVELS[src]}:${LEVELS[dst]}`;
  if (proto === SCTP) return `${SCTP_STATES[src] ?? '?'}:${SCTP_STATES[dst] ?? '?'}`;
  if (proto !== ICMP && proto !== ICMP6 && src < LEVELS.length && dst < LEVELS.length) return `${LEVELS[src]}:${LEVELS[dst]}`;
  return `${src}:${dst}`;
}

function host(addr: string, port: number, af: string): string {
  if (!port) return addr;
  return af === 'inet6' ? `${addr}[${port}]` : `${addr}:${port}`;
}

/** `pfctl -ss`'s line for record i; `verbose` adds `-vv`'s id/route line and origif. */
export function pfctlState(snap: Snapshot, i: number, verbose = false): string {
  if (snap.layout === 'ct') throw new Error('pfctlState: not a pf record');
  const d = decodeState(snap.bytes, i, snap.layout);
  const out = d.direction === 'out';
  const base = i * (snap.layout === 'pf-export' ? 384 : 242);
  const [srcOff, dstOff] = PEER_STATE[snap.layout];
  const [srcState, dstState] = out
    ? [snap.bytes[base + srcOff], snap.bytes[base + dstOff]]
    : [snap.bytes[base + dstOff], snap.bytes[base + srcOff]];
  // nk: the key printed, sk: the one shown in parentheses where it differs.
  const [wire, stack] = d.key;
  const nk = out ? wire : stack;
  const sk = { addr: [...(out ? stack : wire).addr], port: [...(out ? stack : wire).port] };
  if (d.proto === ICMP || d.proto === ICMP6) sk.port[out ? 0 : 1] = nk.port[out ? 0 : 1]; // the ICMP id is not NAT
  const side = (k: 0 | 1) => {
    const shown = host(nk.addr[k], nk.port[k], d.af);
    return nk.addr[k] !== sk.addr[k] || nk.port[k] !== sk.port[k] ? `${shown} (${host(sk.addr[k], sk.port[k], d.af)})` : shown;
  };
  const line = `${d.ifname} ${protoName(d.proto)} ${side(1)} ${out ? '->' : '<-'} ${side(0)}       ${stateLevels(d.proto, srcState, dstState)}`;
  if (!verbose) return line;
  let id = `   id: ${d.id} creatorid: ${d.creatorid}`;
  if (d.rt) id += ` ${RT_NAMES[d.rt] ?? 'gateway'}: ${d.rt_addr ?? (d.af === 'inet6' ? '::' : '0.0.0.0')}${d.rt_ifname ? `@${d.rt_ifname}` : ''}`;
  else if (d.rt_addr) id += ` gateway: ${d.rt_addr}`; // 12.x/13.x records carry rt_addr but not rt
  return `${line}\n${id}${d.ifname !== d.orig_ifname ? `\n   origif: ${d.orig_ifname}` : ''}`;
}
