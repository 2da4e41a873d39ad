/**
 * Failback after a recovery, per group and tier (not by gateway priority as OPNsense does): when the
 * recovered gateway is in the group's best live tier, the states the group's rules sent to lower
 * tiers are killed (if the group says `failback: kill`). Separately, OPNsense-style metered gateways
 * (`failbackByPriority`) lose their states when a gateway with a better priority comes back.
 */
import type { Context, Decision } from './decide.js';
import { failbackLabels, failbackSelection, reloadedGroupLabel, sharesFamily } from './selections.js';
import { isDownUnder, type GatewayStatus } from './status.js';

function rulesNote(rules: number[], labels: string[] = []): string {
  const parts = [...(labels.length ? [`labels ${labels.join(', ')}`] : []), ...(rules.length ? [`rules ${rules.join(', ')}`] : [])];
  return parts.length ? ` (${parts.join('; ')})` : ' (all rules: not narrowed by failbackRules)';
}

export function failbackDecisions(ctx: Context, gwName: string, before: GatewayStatus): Decision[] {
  const out: Decision[] = [];
  const s = ctx.statusOf(gwName);

  for (const g of ctx.groupsOf(gwName)) {
    // Only groups that had taken it out of their pool see a recovery.
    if (!isDownUnder(g.trigger, before) || isDownUnder(g.trigger, s)) continue;
    const me = g.members.find((m) => m.gateway === gwName)!;
    const live = g.members.filter((m) => !isDownUnder(g.trigger, ctx.statusOf(m.gateway)));
    const best = Math.min(...live.map((m) => m.tier));
    const base = { gateway: gwName, kind: 'failback' as const, group: g.name, selections: [] };
    if (me.tier > best) {
      const active = live.filter((m) => m.tier === best).map((m) => m.gateway);
      out.push({ ...base, action: 'skip', reason: `no failback in group ${g.name}: ${gwName} is up again at tier ${me.tier}, below the active tier ${best} (${active.join(', ')})` });
      continue;
    }
    const lower = g.members.filter((m) => m.tier > me.tier);
    if (!lower.length) {
      out.push({ ...base, action: 'skip', reason: `no failback in group ${g.name}: ${gwName} (tier ${me.tier}) has no lower tier below it` });
      continue;
    }
    const lowerText = lower.map((m) => `${m.gateway} (tier ${m.tier})`).join(', ');
    const labels = failbackLabels(ctx.config, g, lower.map((m) => m.tier));
    if (g.failback === 'keep') {
      out.push({ ...base, action: 'skip', reason: `failback in group ${g.name}: ${gwName} (tier ${me.tier}) is up again; keeping states on lower tiers ${lowerText} (failback: keep)` });
      continue;
    }
    const lowerGateways = lower.map((m) => ctx.gateway(m.gateway));
    const selection = failbackSelection(`failback ${g.name}: tiers below ${me.tier}`, lowerGateways, g.failbackRules, labels);
    if (!selection) {
      out.push({ ...base, action: 'skip', reason: `no failback in group ${g.name}: the lower tiers' addresses are not known and no rule or label names the group's rules` });
      continue;
    }
    const selections = [selection];
    // pfSense: the same rules as reloaded now, routed to a lower tier (only with every lower address known).
    const reloaded = reloadedGroupLabel(ctx.config, g, me.tier);
    const again = reloaded && selection.gateways ? failbackSelection(`failback ${g.name}: reloaded rules, tiers below ${me.tier}`, lowerGateways, g.failbackRules, [reloaded]) : undefined;
    if (again) selections.push(again);
    // The line names the labels meant; `again` finds their states after pfSense relabelled the rules.
    const note = rulesNote(g.failbackRules, labels);
    out.push({
      ...base,
      action: 'kill',
      reason: `failback in group ${g.name}: ${gwName} (tier ${me.tier}) is up again; killing states the group's rules sent to lower tiers ${lowerText}${note}`,
      selections,
    });
  }

  // Metered backups by priority (lower number = preferred), only on a real recovery of a better one.
  const gw = ctx.gateway(gwName);
  if (!gw.failbackByPriority && before.state !== 'up') {
    for (const m of ctx.config.gateways) {
      if (m.name === gwName || !m.failbackByPriority || m.priority <= gw.priority || !sharesFamily(gw, m)) continue;
      if (ctx.statusOf(m.name).state !== 'up') continue; // a down backup's states went with its own failover
      const selection = failbackSelection(`failback to ${gwName}: metered ${m.name}`, [m], m.failbackRules);
      if (!selection) continue; // its address is not known
      out.push({
        gateway: gwName,
        kind: 'failback',
        action: 'kill',
        reason: `failback by priority: ${gwName} (priority ${gw.priority}) is up again; killing states of metered gateway ${m.name} (priority ${m.priority})${rulesNote(m.failbackRules)}`,
        selections: [selection],
      });
    }
  }

  if (!out.length)
    out.push({ gateway: gwName, kind: 'failback', action: 'skip', reason: `no failback for gateway ${gwName}: up again, but no group or metered gateway has states to move back`, selections: [] });
  return out;
}
