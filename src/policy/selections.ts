/** How a gateway becomes engine selections: its next hop (`rt_addr`) and, on failover, its NAT address. */
import type { Cidr, Selection } from '../engine/types.js';
import type { GatewayConfig } from './config.js';

/**
 * Failover: every state routed to the gateway (route-to/reply-to next hop), plus, where its WAN does
 * NAT, the states leaving with the WAN's own address. Two selections, because criteria inside one
 * selection must all match.
 */
export function failoverSelections(gw: GatewayConfig): Selection[] {
  const out: Selection[] = [{ name: `gateway ${gw.name}`, gateways: gw.addresses.map(copyCidr) }];
  if (gw.natAddresses.length) out.push({ name: `gateway ${gw.name} NAT address`, natAddrs: gw.natAddresses.map(copyCidr) });
  return out;
}

/**
 * Failback: only the next hop, never the NAT address (services bound to the backup's own address
 * must survive), narrowed to the rules that chose the gateway when rule numbers are known.
 */
export function failbackSelection(label: string, gateways: GatewayConfig[], rules: number[]): Selection {
  const s: Selection = { name: label, gateways: gateways.flatMap((g) => g.addresses.map(copyCidr)) };
  if (rules.length) s.rules = [...rules];
  return s;
}

export function families(gw: GatewayConfig): Set<'inet' | 'inet6'> {
  return new Set(gw.addresses.map((a) => a.af));
}

export function sharesFamily(a: GatewayConfig, b: GatewayConfig): boolean {
  const fa = families(a);
  return b.addresses.some((x) => fa.has(x.af));
}

function copyCidr(c: Cidr): Cidr {
  return { ...c };
}
