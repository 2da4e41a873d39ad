/**
 * The failover policy's configuration: gateways, groups and per-group policy, validated with zod.
 * Every error names its key path (`config: groups[0].members[1].tier: expected a positive integer`)
 * and is thrown before anything is read or killed.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { badInput } from '../errors.js';
import { parseCidr } from '../engine/addr.js';
import { MAX_LABEL_BYTES } from '../engine/labels.js';
import { MAX_RULE } from '../engine/validate.js';
import type { Cidr } from '../engine/types.js';
import { conntrackSelectorFrom, conntrackSelectorSchema, type ConntrackSelector } from './conntrack.js';

export const TRIGGERS = ['down', 'downloss', 'downlatency', 'downlosslatency'] as const;
export const SYSLOG_FACILITIES = ['daemon', 'user', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;
export type SyslogFacility = (typeof SYSLOG_FACILITIES)[number];
/** The largest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
export type Trigger = (typeof TRIGGERS)[number];
export type Product = 'pfsense' | 'opnsense' | 'generic';

const positiveInt = () => z.int({ error: 'expected a positive integer' }).positive({ error: 'expected a positive integer' });
const nonNegative = (what = 'a number >= 0') => z.number({ error: `expected ${what}` }).min(0, { error: `expected ${what}` });
const name = () =>
  z.string({ error: 'expected a name' }).regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected a name of 1-64 letters, digits, _ . -' });
const ifname = () =>
  z.string({ error: 'expected an interface name' }).regex(/^[A-Za-z0-9_.:-]{1,15}$/, { error: 'expected an interface name (1-15 characters)' });
// pf rule numbers are u_int32: a larger number would wrap to another rule (#10 item 21), and
// 0xffffffff is pf's "no rule". The engine's own range (validate.ts), so a config that loads never
// makes a kill the engine refuses (that kill would stay pending and fail at every event).
const RULE_RANGE = `expected a rule number 0-${MAX_RULE}`;
const ruleList = () =>
  z.array(z.int({ error: RULE_RANGE }).min(0, { error: RULE_RANGE }).max(MAX_RULE, { error: RULE_RANGE }), {
    error: 'expected a list of rule numbers',
  });
/** pf rule labels: at most 63 bytes (PF_RULE_LABEL_SIZE 64 with the NUL), counted as the engine counts them. */
const labelList = () =>
  z.array(z.string({ error: 'expected a rule label' }).min(1, { error: 'expected a non-empty rule label' })
    .refine((l) => Buffer.byteLength(l, 'utf8') <= MAX_LABEL_BYTES, { error: `expected a rule label of at most ${MAX_LABEL_BYTES} bytes` }), {
    error: 'expected a list of rule labels',
  });
/** `dynamic`: the address is discovered from the firewall at event time (DHCP/PPPoE WANs). */
export const DYNAMIC = 'dynamic';

/** A host address, optionally `%ifname`-scoped; checked with the engine's own parser. Or `dynamic`. */
const hostAddr = z.string({ error: 'expected an IP address' }).superRefine((s, ctx) => {
  if (s === DYNAMIC) return;
  try {
    const c = parseCidr(s, 'address');
    if (s.includes('/')) ctx.addIssue({ code: 'custom', message: `expected a host address without a prefix length, got '${s}'` });
    else if (c.ifname && !isLinkLocal(c)) ctx.addIssue({ code: 'custom', message: `an interface scope only applies to IPv6 link-local addresses, got '${s}'` });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not an IPv4 or IPv6 address` });
  }
});
/** One address, or one per family. */
const addrPerFamily = z.union([hostAddr, z.strictObject({ inet: hostAddr.optional(), inet6: hostAddr.optional() })], {
  error: 'expected an address or {inet, inet6}',
});

const monitorSchema = z.strictObject({
  socket: z.string({ error: 'expected a path' }).min(1).optional(),
  latencyLowMs: nonNegative().optional(),
  latencyHighMs: nonNegative().optional(),
  lossLowPercent: nonNegative('a percentage').max(100, { error: 'expected a percentage' }).optional(),
  lossHighPercent: nonNegative('a percentage').max(100, { error: 'expected a percentage' }).optional(),
});

const gatewaySchema = z.strictObject({
  // A gateway's name keys the memory file's objects, where `__proto__` would set their prototype.
  name: name().refine((n) => n !== '__proto__', { error: "'__proto__' cannot be a gateway name (it is not a plain key in the policy memory)" }),
  interface: ifname(),
  address: addrPerFamily,
  /** The WAN's own address that outbound NAT uses: its states die with the gateway (failover only). */
  natAddress: addrPerFamily.optional(),
  /** OPNsense-style priority (lower is preferred), for failback by priority. */
  priority: z.int({ error: 'expected an integer 1-255' }).min(1, { error: 'expected an integer 1-255' }).max(255, { error: 'expected an integer 1-255' }).optional(),
  /** Metered backup: kill its states when a gateway with a better priority recovers. */
  failbackByPriority: z.boolean({ error: 'expected true or false' }).optional(),
  failbackRules: ruleList().optional(),
  disabled: z.boolean({ error: 'expected true or false' }).optional(),
  /** Maintenance: the admin marked it down. */
  forceDown: z.boolean({ error: 'expected true or false' }).optional(),
  /** What a forced-down gateway does to its states (pfSense: keep, OPNsense: kill). */
  killOnForceDown: z.boolean({ error: 'expected true or false' }).optional(),
  monitor: monitorSchema.optional(),
  /** Monitoring is off on the firewall (pfSense "Disable Gateway Monitoring"): counts as up, a viable target. */
  unmonitored: z.boolean({ error: 'expected true or false' }).optional(),
  /** Linux conntrack: which entries are this WAN's (src/policy/conntrack.ts). */
  conntrack: conntrackSelectorSchema.optional(),
});

const memberSchema = z.strictObject({ gateway: name(), tier: positiveInt() });

const groupSchema = z.strictObject({
  name: name(),
  trigger: z.enum(TRIGGERS, { error: `expected one of ${TRIGGERS.join(', ')}` }).optional(),
  members: z.array(memberSchema, { error: 'expected a list of {gateway, tier}' }).min(1, { error: 'expected at least one member' }),
  killOnDown: z.boolean({ error: 'expected true or false' }).optional(),
  requireViableTarget: z.boolean({ error: 'expected true or false' }).optional(),
  failback: z.enum(['keep', 'kill'], { error: 'expected keep or kill' }).optional(),
  /** Rule numbers of the group's rules: failback kills only states these created. */
  failbackRules: ruleList().optional(),
  /** Rule labels of the group's rules (pfSense derives `gw=<tier>:<group>` itself). */
  failbackLabels: labelList().optional(),
  holdDownSeconds: nonNegative('seconds >= 0').optional(),
});

const configSchema = z.strictObject({
  product: z.enum(['pfsense', 'opnsense', 'generic'], { error: 'expected pfsense, opnsense or generic' }).optional(),
  gatewaySwitching: z.boolean({ error: 'expected true or false' }).optional(),
  holdDownSeconds: nonNegative('seconds >= 0').optional(),
  stateFile: z.string({ error: 'expected a path' }).min(1).optional(),
  carp: z
    .strictObject({
      vhid: z.int({ error: 'expected a VHID 1-255' }).min(1, { error: 'expected a VHID 1-255' }).max(255, { error: 'expected a VHID 1-255' }).optional(),
      interface: ifname().optional(),
      /** A fixed role instead of probing ifconfig (a node without CARP, or tests). */
      role: z.enum(['master', 'backup'], { error: 'expected master or backup' }).optional(),
    })
    .optional(),
  status: z
    .strictObject({
      source: z.enum(['auto', 'opnsense', 'dpinger'], { error: 'expected auto, opnsense or dpinger' }).optional(),
      pluginctl: z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' }).optional(),
      dpingerDir: z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' }).optional(),
      routerDir: z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' }).optional(),
      noDataWaitSeconds: nonNegative('seconds >= 0').max(60, { error: 'expected seconds 0-60' }).optional(),
    })
    .optional(),
  log: z
    .strictObject({
      syslog: z.boolean({ error: 'expected true or false' }).optional(),
      facility: z.enum(SYSLOG_FACILITIES, { error: `expected one of ${SYSLOG_FACILITIES.join(', ')}` }).optional(),
      tag: z.string({ error: 'expected a tag' }).regex(/^[A-Za-z0-9_.-]{1,32}$/, { error: 'expected a tag of 1-32 letters, digits, _ . -' }).optional(),
    })
    .optional(),
  ordering: z
    .strictObject({
      reloadMarker: z.string({ error: 'expected a path' }).min(1).optional(),
      filterLock: z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' }).optional(),
      reloadStatus: z.string({ error: 'expected a path' }).min(1, { error: 'expected a path' }).optional(),
      reloadTimeoutSeconds: nonNegative('seconds >= 0').optional(),
      secondPassSeconds: nonNegative('seconds >= 0').optional(),
    })
    .optional(),
  // setTimeout takes at most 2^31-1 ms; beyond it Node fires after 1 ms (#10 item 20).
  watch: z.strictObject({ intervalMs: positiveInt().max(MAX_TIMER_MS, { error: `expected milliseconds 1-${MAX_TIMER_MS}` }).optional() }).optional(),
  gateways: z.array(gatewaySchema, { error: 'expected a list of gateways' }).min(1, { error: 'expected at least one gateway' }),
  groups: z.array(groupSchema, { error: 'expected a list of groups' }).optional(),
});

export interface Thresholds {
  latencyLowMs: number;
  latencyHighMs: number;
  lossLowPercent: number;
  lossHighPercent: number;
}

/** Both products ship the same dpinger thresholds (pfSense gwlb.inc, OPNsense GatewayField.php). */
export const DEFAULT_THRESHOLDS: Thresholds = { latencyLowMs: 200, latencyHighMs: 500, lossLowPercent: 10, lossHighPercent: 20 };

export interface GatewayConfig {
  name: string;
  interface: string;
  /** One host prefix per family; IPv6 link-local ones carry `ifname`. Dynamic ones are filled in at event time. */
  addresses: Cidr[];
  natAddresses: Cidr[];
  /** Families whose address is `dynamic` (discovered from the firewall at event time). */
  dynamic: Family[];
  dynamicNat: Family[];
  unmonitored: boolean;
  priority: number;
  /** Whether `priority` came from the config (else the firewall's may replace the default). */
  priorityGiven: boolean;
  failbackByPriority: boolean;
  failbackRules: number[];
  disabled: boolean;
  forceDown: boolean;
  killOnForceDown: boolean;
  socket?: string;
  thresholds: Thresholds;
  /** --backend conntrack: this gateway's entries (mark and/or reply destinations). */
  conntrack?: ConntrackSelector;
}

export interface GroupConfig {
  name: string;
  trigger: Trigger;
  members: { gateway: string; tier: number }[];
  killOnDown: boolean;
  requireViableTarget: boolean;
  failback: 'keep' | 'kill';
  failbackRules: number[];
  failbackLabels: string[];
  holdDownSeconds: number;
}

export interface PolicyConfig {
  product: Product;
  gatewaySwitching: boolean;
  holdDownSeconds: number;
  stateFile: string;
  carp?: { vhid?: number; interface?: string; role?: 'master' | 'backup' };
  status: StatusSourceConfig;
  log: { syslog: boolean; facility: SyslogFacility; tag: string };
  ordering: { reloadMarker?: string; filterLock?: string; reloadStatus?: string; reloadTimeoutSeconds: number; secondPassSeconds: number };
  watchIntervalMs: number;
  gateways: GatewayConfig[];
  groups: GroupConfig[];
}

export type Family = 'inet' | 'inet6';

/** Where gateway statuses come from (status.ts/sources.ts read it). */
export interface StatusSourceConfig {
  /** opnsense: `pluginctl -r return_gateways_status`; dpinger: the status sockets. */
  source: 'opnsense' | 'dpinger';
  pluginctl: string;
  dpingerDir: string;
  routerDir: string;
  noDataWaitSeconds: number;
}

export const DEFAULT_STATE_FILE = '/var/db/statekill/policy-state.json';

function isLinkLocal(c: Cidr): boolean {
  return c.af === 'inet6' && /^fe[89ab][0-9a-f]:/i.test(c.addr);
}

/** `groups[0].members[1].tier` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

function configError(path: readonly PropertyKey[], message: string) {
  return badInput(`config: ${formatPath(path)}: ${message}`);
}

function addresses(v: string | { inet?: string; inet6?: string }, iface: string, path: PropertyKey[]): { cidrs: Cidr[]; dynamic: Family[] } {
  // `dynamic` alone means an IPv4 gateway (DHCP/PPPoE); write { inet6: dynamic } for IPv6.
  const entries: [Family | undefined, string | undefined][] = typeof v === 'string' ? [[undefined, v]] : [['inet', v.inet], ['inet6', v.inet6]];
  const cidrs: Cidr[] = [];
  const dynamic: Family[] = [];
  for (const [family, text] of entries) {
    if (text === undefined) continue;
    if (text === DYNAMIC) {
      dynamic.push(family ?? 'inet');
      continue;
    }
    const c = parseCidr(text, 'address');
    if (family && c.af !== family) throw configError([...path, family], `'${text}' is not an ${family === 'inet' ? 'IPv4' : 'IPv6'} address`);
    // A link-local next hop only means something on its link: scope it to the gateway's interface.
    if (isLinkLocal(c) && !c.ifname) c.ifname = iface;
    cidrs.push(c);
  }
  if (cidrs.length + dynamic.length === 0) throw configError(path, 'expected at least one of inet, inet6');
  return { cidrs, dynamic };
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v = doc;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** Validates a parsed YAML/JSON document; throws E_BAD_INPUT naming the first bad key path. */
export function parseConfig(doc: unknown): PolicyConfig {
  const r = configSchema.safeParse(doc);
  if (!r.success) {
    const iss = r.error.issues[0];
    if (iss.code === 'unrecognized_keys') throw configError([...iss.path, iss.keys[0]], 'unknown key');
    if (iss.code === 'invalid_type' && valueAt(doc, iss.path) === undefined) throw configError(iss.path, 'required');
    throw configError(iss.path, iss.message);
  }
  const c = r.data;
  const gateways: GatewayConfig[] = [];
  const seen = new Map<string, number>();
  c.gateways.forEach((g, i) => {
    if (seen.has(g.name)) throw configError(['gateways', i, 'name'], `duplicate gateway name '${g.name}' (also gateways[${seen.get(g.name)}])`);
    seen.set(g.name, i);
    const m = g.monitor ?? {};
    const thresholds: Thresholds = {
      latencyLowMs: m.latencyLowMs ?? DEFAULT_THRESHOLDS.latencyLowMs,
      latencyHighMs: m.latencyHighMs ?? DEFAULT_THRESHOLDS.latencyHighMs,
      lossLowPercent: m.lossLowPercent ?? DEFAULT_THRESHOLDS.lossLowPercent,
      lossHighPercent: m.lossHighPercent ?? DEFAULT_THRESHOLDS.lossHighPercent,
    };
    if (thresholds.latencyLowMs > thresholds.latencyHighMs)
      throw configError(['gateways', i, 'monitor', 'latencyLowMs'], `must not exceed latencyHighMs (${thresholds.latencyHighMs})`);
    if (thresholds.lossLowPercent > thresholds.lossHighPercent)
      throw configError(['gateways', i, 'monitor', 'lossLowPercent'], `must not exceed lossHighPercent (${thresholds.lossHighPercent})`);
    const addr = addresses(g.address, g.interface, ['gateways', i, 'address']);
    const nat = g.natAddress === undefined ? { cidrs: [], dynamic: [] } : addresses(g.natAddress, g.interface, ['gateways', i, 'natAddress']);
    gateways.push({
      name: g.name,
      interface: g.interface,
      addresses: addr.cidrs,
      natAddresses: nat.cidrs,
      dynamic: addr.dynamic,
      dynamicNat: nat.dynamic,
      unmonitored: g.unmonitored ?? false,
      priority: g.priority ?? 255,
      priorityGiven: g.priority !== undefined,
      failbackByPriority: g.failbackByPriority ?? false,
      failbackRules: g.failbackRules ?? [],
      disabled: g.disabled ?? false,
      forceDown: g.forceDown ?? false,
      killOnForceDown: g.killOnForceDown ?? false,
      // Given, or found at event time by the gateway's name (sources.ts: OPNsense dpinger_NAME.sock,
      // pfSense dpinger_NAME~SRCIP~MONITORIP.sock, whose source address changes on DHCP WANs).
      socket: m.socket,
      thresholds,
      ...(g.conntrack ? { conntrack: conntrackSelectorFrom(g.conntrack) } : {}),
    });
  });
  const holdDownSeconds = c.holdDownSeconds ?? 30;
  const groupNames = new Map<string, number>();
  const groups: GroupConfig[] = (c.groups ?? []).map((g, i) => {
    if (groupNames.has(g.name)) throw configError(['groups', i, 'name'], `duplicate group name '${g.name}' (also groups[${groupNames.get(g.name)}])`);
    groupNames.set(g.name, i);
    const inGroup = new Set<string>();
    g.members.forEach((m, j) => {
      if (!seen.has(m.gateway)) throw configError(['groups', i, 'members', j, 'gateway'], `unknown gateway '${m.gateway}' (not in gateways)`);
      if (inGroup.has(m.gateway)) throw configError(['groups', i, 'members', j, 'gateway'], `gateway '${m.gateway}' is listed twice in this group`);
      inGroup.add(m.gateway);
    });
    const product = c.product ?? 'generic';
    // Without its rule numbers or labels, a failback kill would reach every state routed to a lower
    // tier: port-forwards' reply-to, the firewall's own, flows other rules pinned there. pfSense labels
    // the group's rules itself (gw=<tier>:<group>); elsewhere the config must say which rules.
    if (g.failback === 'kill' && product !== 'pfsense' && !g.failbackRules?.length && !g.failbackLabels?.length)
      throw configError(['groups', i, 'failback'], `kill needs failbackRules or failbackLabels (product ${product} does not label a group's rules)`);
    return {
      name: g.name,
      trigger: g.trigger ?? 'down',
      members: g.members.map((m) => ({ gateway: m.gateway, tier: m.tier })),
      killOnDown: g.killOnDown ?? true,
      requireViableTarget: g.requireViableTarget ?? true,
      failback: g.failback ?? 'keep',
      failbackRules: g.failbackRules ?? [],
      failbackLabels: g.failbackLabels ?? [],
      holdDownSeconds: g.holdDownSeconds ?? holdDownSeconds,
    };
  });
  return {
    product: c.product ?? 'generic',
    gatewaySwitching: c.gatewaySwitching ?? false,
    holdDownSeconds,
    stateFile: c.stateFile ?? DEFAULT_STATE_FILE,
    carp: c.carp,
    status: {
      source: c.status?.source === undefined || c.status.source === 'auto' ? (c.product === 'opnsense' ? 'opnsense' : 'dpinger') : c.status.source,
      pluginctl: c.status?.pluginctl ?? '/usr/local/sbin/pluginctl',
      dpingerDir: c.status?.dpingerDir ?? '/var/run',
      routerDir: c.status?.routerDir ?? '/tmp',
      noDataWaitSeconds: c.status?.noDataWaitSeconds ?? 5,
    },
    log: { syslog: c.log?.syslog ?? false, facility: c.log?.facility ?? 'daemon', tag: c.log?.tag ?? 'statekill' },
    ordering: {
      reloadMarker: c.ordering?.reloadMarker,
      filterLock: c.ordering?.filterLock,
      reloadStatus: c.ordering?.reloadStatus,
      reloadTimeoutSeconds: c.ordering?.reloadTimeoutSeconds ?? 30,
      secondPassSeconds: c.ordering?.secondPassSeconds ?? 0,
    },
    watchIntervalMs: c.watch?.intervalMs ?? 1000,
    gateways,
    groups,
  };
}

/** Reads a YAML or JSON file (JSON is YAML) and validates it. */
export function loadConfig(file: string): PolicyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw badInput(`config: cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw badInput(`config: ${file} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseConfig(doc);
}

export function findGateway(config: PolicyConfig, gw: string): GatewayConfig | undefined {
  return config.gateways.find((g) => g.name === gw);
}
