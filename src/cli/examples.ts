/** The "Examples:" each command's --help ends with (the README's command table says the same). */
export const EXAMPLES: Record<string, string[]> = {
  kill: [
    '# the failed gateway\'s states and their partners (pf, /dev/pf)',
    'statekill kill --gateway 198.51.100.1',
    '# see first what would go, as JSON',
    'statekill kill --gateway 198.51.100.1 --dry-run --json',
    '# an IPv6 link-local gateway, scoped to its interface',
    'statekill kill --gateway fe80::1%igb0',
    '# Linux: conntrack entries of one mwan3 interface mark',
    'statekill kill --backend conntrack --mark 0x100/0xff00',
  ],
  list: [
    'statekill list --gateway 198.51.100.1 --pair',
    'statekill list --interface igb0 --proto tcp',
    'statekill list --sim table.jsonl --json > copy.jsonl',
  ],
  event: [
    '# what a pfSense/OPNsense gateway alarm hook runs',
    'statekill event --config /usr/local/etc/statekill.yaml --gateway WAN_DHCP --status down',
    '# decide and report only',
    'statekill event --config statekill.yaml --gateway WAN_DHCP --status down --dry-run --json',
  ],
};
