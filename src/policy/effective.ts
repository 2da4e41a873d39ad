/**
 * The config as it applies to one event: dynamic addresses filled in from what the firewall reports
 * now, or else from what was last discovered (a DHCP WAN whose lease is gone still had its states
 * routed to the old gateway), and the firewall's priority where the config sets none.
 */
import { parseCidr } from '../engine/addr.js';
import type { Cidr } from '../engine/types.js';
import type { GatewayConfig, PolicyConfig } from './config.js';
import type { Observation } from './sources.js';
import type { PolicyState } from './state.js';

function text(c: Cidr): string {
  return c.ifname ? `${c.addr}%${c.ifname}` : c.addr;
}

function fromText(list: string[] | undefined): Cidr[] {
  const out: Cidr[] = [];
  for (const t of list ?? []) {
    try {
      out.push(parseCidr(t, 'address'));
    } catch {
      /* a hand-edited memory file: ignore what does not parse */
    }
  }
  return out;
}

/** Updates `state.discovered` from the observations and returns the config with addresses filled in. */
export function applyDiscovered(config: PolicyConfig, observations: Map<string, Observation>, state: PolicyState): PolicyConfig {
  const discovered = { ...state.discovered };
  const gateways = config.gateways.map((gw): GatewayConfig => {
    if (!gw.dynamic.length && !gw.dynamicNat.length && (gw.priorityGiven || observations.get(gw.name)?.priority === undefined)) return gw;
    const o = observations.get(gw.name);
    const prev = discovered[gw.name] ?? { addresses: [], natAddresses: [] };
    const addresses = o?.addresses?.length ? o.addresses : fromText(prev.addresses);
    const natAddresses = o?.natAddresses?.length ? o.natAddresses : fromText(prev.natAddresses);
    if (gw.dynamic.length || gw.dynamicNat.length) discovered[gw.name] = { addresses: addresses.map(text), natAddresses: natAddresses.map(text) };
    return {
      ...gw,
      addresses: [...gw.addresses, ...addresses.filter((a) => gw.dynamic.includes(a.af))],
      natAddresses: [...gw.natAddresses, ...natAddresses.filter((a) => gw.dynamicNat.includes(a.af))],
      priority: !gw.priorityGiven && o?.priority !== undefined ? o.priority : gw.priority,
    };
  });
  if (Object.keys(discovered).length) state.discovered = discovered;
  return { ...config, gateways };
}
