/**
 * Where each product runs gateway-event scripts, as data: `hook install <name>` copies each source
 * script (from this folder) to `dest` under --root. `preserve` moves a product file aside first and
 * puts it back on uninstall (pfSense has no hook folder, so its alarm script is wrapped).
 * Add a product by adding an entry here; hook.ts needs no change.
 */
export interface HookFile {
  /** File name in src/hooks/ */
  source: string;
  /** Path relative to the target root (/) */
  dest: string;
  mode: number;
  /** Where an existing product file at `dest` is kept while ours is installed. */
  preserve?: string;
}

export interface HookTarget {
  name: string;
  description: string;
  files: HookFile[];
}

export const HOOK_TARGETS: HookTarget[] = [
  {
    name: 'opnsense',
    description: 'OPNsense monitor syshook: rc.routing_configure runs it with the alarmed gateways in $1',
    files: [{ source: 'opnsense-monitor.sh', dest: 'usr/local/etc/rc.syshook.d/monitor/90-statekill', mode: 0o755 }],
  },
  {
    name: 'pfsense',
    description: "pfSense dpinger alarm command (/etc/rc.gateway_alarm), wrapped: the original still runs first",
    files: [{ source: 'pfsense-gateway-alarm.sh', dest: 'etc/rc.gateway_alarm', mode: 0o755, preserve: 'etc/rc.gateway_alarm.statekill-orig' }],
  },
  {
    name: 'mwan3',
    description: "OpenWrt mwan3 hotplug (iface): on disconnected/ifdown, kills only that interface's mwan3-marked conntrack entries",
    files: [{ source: 'mwan3/16-statekill', dest: 'etc/hotplug.d/iface/16-statekill', mode: 0o755 }],
  },
];

export function findTarget(name: string): HookTarget | undefined {
  return HOOK_TARGETS.find((t) => t.name === name);
}
