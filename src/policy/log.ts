/**
 * Where the policy's lines go. Decision lines belong in the firewall's own log view, so besides the
 * terminal they can go to syslog through logger(1): it is in FreeBSD's base (pfSense, OPNsense),
 * BusyBox (OpenWrt) and util-linux (Debian), needs no native module, and each firewall's syslogd
 * already files the lines by facility and tag. (npm syslog clients speak UDP/TCP, which the
 * firewalls' syslogd does not listen on by default, or need a native build.)
 * The message goes on stdin, never on the command line, so no text can become an option.
 */
import { spawn } from 'node:child_process';
import type { SyslogFacility } from './config.js';
import type { PolicyLog } from './execute.js';
import { oneLine } from './sources.js';

export interface SyslogOptions {
  facility: SyslogFacility;
  tag: string;
  /** logger(1); tests pass a fake. */
  command?: string;
  /** Told once if logger(1) cannot run. */
  onError?: (message: string) => void;
}

const PRIORITY = { info: 'info', warn: 'warning', error: 'err' } as const;

export interface FlushableLog extends PolicyLog {
  /** Resolves when every line handed over so far was accepted (call before exiting). */
  flush(): Promise<void>;
}

export function syslogLog(o: SyslogOptions): FlushableLog {
  const pending = new Set<Promise<void>>();
  let failed = false;
  const log = ((level, msg) => {
    const p = new Promise<void>((resolve) => {
      const child = spawn(o.command ?? 'logger', ['-t', o.tag, '-p', `${o.facility}.${PRIORITY[level]}`], { stdio: ['pipe', 'ignore', 'ignore'] });
      const fail = (why: string) => {
        if (!failed) o.onError?.(`syslog: ${o.command ?? 'logger'} failed (${why}); lines go to the terminal only`);
        failed = true;
      };
      child.on('error', (e) => (fail(e.message), resolve()));
      child.on('close', (code) => (code ? fail(`exit ${code}`) : undefined, resolve()));
      child.stdin.on('error', () => {});
      child.stdin.end(`${oneLine(msg)}\n`);
    });
    pending.add(p);
    void p.then(() => pending.delete(p));
  }) as FlushableLog;
  log.flush = async () => {
    while (pending.size) await Promise.all([...pending]);
  };
  return log;
}

/** One line to several sinks. */
export function teeLog(...logs: (PolicyLog | undefined)[]): FlushableLog {
  const sinks = logs.filter((l): l is PolicyLog => l !== undefined);
  const log = ((level, msg, fields) => {
    for (const l of sinks) l(level, msg, fields);
  }) as FlushableLog;
  log.flush = async () => {
    for (const l of sinks) await (l as Partial<FlushableLog>).flush?.();
  };
  return log;
}
