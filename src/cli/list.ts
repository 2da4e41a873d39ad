/** statekill list: states like pfctl -ss, with the same selectors; --json for JSON Lines. */
import type { Command } from 'commander';
import { isEmptySelection } from '../engine/compile.js';
import { stateToJson } from '../table/jsonl.js';
import { decodeState, protoName } from '../table/records.js';
import { addSelectOptions, addTableOptions, openTableFrom, selectionFrom, workersFrom, type SelectOpts, type TableOpts } from './table-options.js';
import { decodeCtRecord } from '../backends/conntrack-record.js';
import type { Snapshot } from '../engine/types.js';

interface ListOpts extends TableOpts, SelectOpts {
  json?: boolean;
  pair?: boolean;
}

function endpoint(addr: string, port: number, af: string): string {
  return af === 'inet6' ? `${addr}[${port}]` : `${addr}:${port}`;
}

/** One line in pfctl -ss's shape: outbound "src (pre-NAT) -> dst", inbound "dst (post-rdr) <- src". */
export function pfctlLine(snap: Snapshot, i: number): string {
  const d = decodeState(snap.bytes, i, snap.layout);
  const [w, s] = d.key;
  const out = d.direction === 'out';
  const a = out ? 1 : 0, b = out ? 0 : 1; // a = initiator side in this key
  const wireA = endpoint(w.addr[a], w.port[a], d.af), stackA = endpoint(s.addr[a], s.port[a], d.af);
  const wireB = endpoint(w.addr[b], w.port[b], d.af), stackB = endpoint(s.addr[b], s.port[b], d.af);
  const ifname = d.ifname === 'all' ? `all(${d.orig_ifname})` : d.ifname;
  const gw = d.rt_addr ? ` rt ${d.rt_addr}${d.rt_ifname ? `@${d.rt_ifname}` : ''}` : '';
  const body = out
    ? `${wireA}${wireA !== stackA ? ` (${stackA})` : ''} -> ${wireB}`
    : `${wireB}${wireB !== stackB ? ` (${stackB})` : ''} <- ${wireA}`;
  return `${ifname} ${protoName(d.proto)} ${body}${gw} id ${d.id}/${d.creatorid}`;
}

export function register(program: Command): void {
  const cmd = program.command('list').description('list states (all, or those the selectors match)');
  addTableOptions(cmd);
  addSelectOptions(cmd);
  cmd
    .option('--pair', 'also list the selected states\' opposite-direction partners')
    .option('--json', 'JSON Lines, one state per line (the interchange format)')
    .action(async (o: ListOpts) => {
      const backend = o.backend ?? 'pf';
      const selection = selectionFrom(o, backend);
      const table = await openTableFrom(o, selection);
      try {
        let snap: Snapshot;
        let indices: Iterable<number>;
        if (isEmptySelection(selection)) {
          snap = await table.snapshot();
          indices = { [Symbol.iterator]: function* () { for (let i = 0; i < snap.count; i++) yield i; } };
        } else {
          const plan = await table.plan([selection], { pair: !!o.pair, workers: workersFrom(o), fullRecords: true });
          snap = table.lastSnapshot!;
          indices = plan.indices;
        }
        const out: string[] = [];
        const flush = () => { if (out.length) process.stdout.write(`${out.join('\n')}\n`); out.length = 0; };
        for (const i of indices) {
          if (snap.layout === 'ct') out.push(JSON.stringify(decodeCtRecord(snap.bytes, i)));
          else out.push(o.json ? JSON.stringify(stateToJson(snap.bytes, i, snap.layout)) : pfctlLine(snap, i));
          if (out.length >= 4096) flush();
        }
        flush();
      } finally {
        await table.close();
      }
    });
}
