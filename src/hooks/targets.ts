/**
 * Where each product runs gateway-event scripts, as data: `hook install <name>` writes each source
 * script (from this folder) to `dest` under --root, with the installed values filled in.
 * Add a product by adding an entry here; hook.ts needs no change.
 */
export interface HookFile {
  /** File name in src/hooks/ */
  source: string;
  /** Path relative to the target root (/) */
  dest: string;
  mode: number;
}

/** A file an earlier statekill installed there: removed (and the product's original put back) on install. */
export interface LegacyFile {
  dest: string;
  /** Where the product's original was kept. */
  preserved?: string;
}

export interface HookTarget {
  name: string;
  description: string;
  files: HookFile[];
  /** Whether the hook runs `statekill event --config`: then install checks that config. */
  usesConfig: boolean;
  /** Whether the hook kills pf states: then install runs `statekill doctor` on the box first. */
  pfKernel: boolean;
  legacy?: LegacyFile[];
}

export const HOOK_TARGETS: HookTarget[] = [
  {
    name: 'opnsense',
    description: 'OPNsense syshooks: monitor (rc.routing_configure passes the alarmed gateways) and carp (a promoted master re-checks)',
    files: [
      { source: 'opnsense-monitor.sh', dest: 'usr/local/etc/rc.syshook.d/monitor/90-statekill', mode: 0o755 },
      { source: 'opnsense-carp.sh', dest: 'usr/local/etc/rc.syshook.d/carp/90-statekill', mode: 0o755 },
    ],
    usesConfig: true,
    pfKernel: true,
  },
  {
    name: 'pfsense',
    description: 'pfSense package filter plugin (/usr/local/pkg/pf/*.sh start, run after every ruleset load; survives upgrades)',
    files: [{ source: 'pfsense-pf-plugin.sh', dest: 'usr/local/pkg/pf/statekill.sh', mode: 0o755 }],
    usesConfig: true,
    pfKernel: true,
    // statekill up to 0.1 wrapped /etc/rc.gateway_alarm, which pfSense upgrades overwrite.
    legacy: [{ dest: 'etc/rc.gateway_alarm', preserved: 'etc/rc.gateway_alarm.statekill-orig' }],
  },
  {
    name: 'mwan3',
    description: "OpenWrt mwan3 hotplug (iface): on disconnected/ifdown, kills only that interface's mwan3-marked conntrack entries",
    files: [{ source: 'mwan3/16-statekill', dest: 'etc/hotplug.d/iface/16-statekill', mode: 0o755 }],
    usesConfig: false,
    pfKernel: false,
  },
];

export function findTarget(name: string): HookTarget | undefined {
  return HOOK_TARGETS.find((t) => t.name === name);
}
