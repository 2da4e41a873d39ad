/** How a gateway becomes engine selections: its next hop (`rt_addr`), its NAT address, its group's rule labels. */
import type { Cidr, Selection } from '../engine/types.js';
import type { GatewayConfig, GroupConfig, PolicyConfig } from './config.js';

/**
 * Failover: every state routed to the gateway (route-to/reply-to next hop), plus, where its WAN does
 * NAT, the states leaving with the WAN's own address that have no next hop at all (routed by the
 * table: default-route NAT). A NAT state routed to another gateway is not this gateway's: with two
 * gateways on one WAN (one address), failing one must not kill the live one's flows (#10 item 5).
 * Two selections, because criteria inside one selection must all match. Empty when the gateway's
 * address is not known (dynamic, not discovered).
 */
export function failoverSelections(gw: GatewayConfig): Selection[] {
  if (!gw.addresses.length) return [];
  const out: Selection[] = [{ name: `gateway ${gw.name}`, gateways: gw.addresses.map(copyCidr) }];
  if (gw.natAddresses.length) out.push({ name: `gateway ${gw.name} NAT address (default-routed)`, natAddrs: gw.natAddresses.map(copyCidr), defaultRouted: true });
  return out;
}

/**
 * The rule labels a failback kills by. pfSense labels each policy-routing rule of a failover group
 * with `gw=<tier>:<group>`, the tier that was active when the ruleset was generated (filter.inc
 * get_failover_gateway_group_label_item(), util.inc make_rule_label_string(): key "gw", delimiter
 * "="), and kills recovered groups' lower tiers by that label (gwlb.inc remove_failover_states()).
 * Elsewhere only the labels the config names.
 */
export function failbackLabels(config: PolicyConfig, group: GroupConfig, lowerTiers: number[]): string[] {
  if (group.failbackLabels.length) return [...group.failbackLabels];
  if (config.product === 'pfsense') return [...new Set(lowerTiers)].sort((a, b) => a - b).map((t) => `gw=${t}:${group.name}`);
  return [];
}

/**
 * pfSense relabels a group's rules with the tier active when the ruleset is generated, and its
 * post-load plugin (this hook) runs after the recovery reload: the loaded ruleset no longer carries
 * the lower tiers' labels, and a state exports only its rule's number, not the old rule's label. The
 * group's rules keep their numbers across such a reload (the same rules, relabelled, re-routed), so
 * the states those rules sent to a lower tier are the ones created by the rules labelled
 * `gw=<tier now>:<group>` and routed to a lower tier's gateway: the current rules route only to the
 * tier now active. Undefined elsewhere (a config's own labels are stable). Needs the lower tiers'
 * addresses: without them this would reach the states routed to the tier now active.
 */
export function reloadedGroupLabel(config: PolicyConfig, group: GroupConfig, activeTier: number): string | undefined {
  return config.product === 'pfsense' && !group.failbackLabels.length ? `gw=${activeTier}:${group.name}` : undefined;
}

/**
 * Failback: never the NAT address (services bound to the backup's own address must survive), and
 * narrowed to the group's own rules: by label and/or rule number, so reply-to port-forwards, the
 * firewall's own states and flows another rule pinned to a lower tier are left alone. The lower
 * tiers' addresses narrow it further where all are known. Undefined when nothing narrows it.
 */
export function failbackSelection(label: string, gateways: GatewayConfig[], rules: number[], labels: string[] = []): Selection | undefined {
  const addresses = gateways.flatMap((g) => g.addresses.map(copyCidr));
  const allKnown = gateways.every((g) => g.addresses.length);
  const s: Selection = { name: label };
  if (allKnown && addresses.length) s.gateways = addresses;
  if (rules.length) s.rules = [...rules];
  if (labels.length) s.labels = [...labels];
  if (!s.gateways && !s.rules && !s.labels) return undefined;
  return s;
}

export function families(gw: GatewayConfig): Set<'inet' | 'inet6'> {
  return new Set([...gw.addresses.map((a) => a.af), ...gw.dynamic]);
}

export function sharesFamily(a: GatewayConfig, b: GatewayConfig): boolean {
  const fa = families(a);
  return [...families(b)].some((f) => fa.has(f));
}

function copyCidr(c: Cidr): Cidr {
  return { ...c };
}
