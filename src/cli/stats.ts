/** statekill stats: how many states, by family, direction, interface and gateway. */
import type { Command } from 'commander';
import { decodeState, protoName } from '../table/records.js';
import { addTableOptions, openTableFrom, type TableOpts } from './table-options.js';

export function register(program: Command): void {
  const cmd = program.command('stats').description('count states by family, protocol, direction, interface and gateway');
  addTableOptions(cmd);
  cmd.option('--json', 'print one JSON object').action(async (o: TableOpts & { json?: boolean }) => {
    const table = await openTableFrom(o);
    try {
      const snap = await table.snapshot();
      const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
      const byAf = new Map<string, number>(), byDir = new Map<string, number>(), byIf = new Map<string, number>(),
        byGw = new Map<string, number>(), byProto = new Map<string, number>();
      if (snap.layout !== 'ct') {
        for (let i = 0; i < snap.count; i++) {
          const d = decodeState(snap.bytes, i, snap.layout);
          count(byAf, d.af);
          count(byDir, d.direction);
          count(byProto, String(d.proto));
          count(byIf, d.ifname === 'all' ? `all(${d.orig_ifname})` : d.ifname);
          count(byGw, d.rt_addr ? `${d.rt_addr}${d.rt_ifname ? `%${d.rt_ifname}` : ''}` : '(routing table)');
        }
      }
      const obj = {
        target: table.describe().target,
        paths: table.describe().paths,
        states: snap.count,
        layout: snap.layout,
        byAf: Object.fromEntries(byAf), byProto: Object.fromEntries(byProto), byDirection: Object.fromEntries(byDir),
        byInterface: Object.fromEntries(byIf), byGateway: Object.fromEntries(byGw),
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(obj)}\n`);
        return;
      }
      const lines = [`target: ${obj.target}`, `paths:  ${Object.entries(obj.paths).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `states: ${obj.states} (${obj.layout} records)`];
      // Text names protocols as pfctl does (tcp, udp, 47 -> gre); --json keeps the numbers.
      const byProtoName = new Map([...byProto].map(([p, n]) => [String(protoName(Number(p))), n]));
      for (const [title, m] of [['family', byAf], ['protocol', byProtoName], ['direction', byDir], ['interface', byIf], ['gateway (rt_addr)', byGw]] as const)
        lines.push(`${title}:`, ...[...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${k.padEnd(28)} ${v}`));
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await table.close();
    }
  });
}
