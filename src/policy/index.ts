/** The failover policy as a library: for daemons with their own monitoring. */
export { loadConfig, parseConfig, DEFAULT_THRESHOLDS, type PolicyConfig, type GatewayConfig, type GroupConfig, type Trigger, type Product } from './config.js';
export { decide, isFailed, type Decision, type DecideInput, type DecideResult, type PolicyEvent } from './decide.js';
export { runDecisions, anyKillFailed, killIncomplete, reportCounts, describeReport, type KillContext, type StateKiller, type PolicyLog, type Outcome, type RunOptions } from './execute.js';
export { engineKiller, tableTarget } from './engine-killer.js';
export { runEvent, type EventRequest, type EventDeps } from './event-runner.js';
export { Watcher, type WatcherDeps } from './watcher.js';
export { classifySample, parseStatusWord, parseDpingerLine, readDpingerSocket, isDownUnder, describeStatus, type GatewayStatus, type DpingerSample } from './status.js';
export { parseIfconfigCarp, carpRole, probeCarpRole, ifconfigProbe, type CarpEntry, type CarpProbe, type CarpRole } from './carp.js';
export { emptyState, loadState, readState, saveState, lockState, type PolicyState, type GatewayMemory, type LoadedState } from './state.js';
export { waitForMarker, reloadWaiter, flockProbe, type ReloadWaiter, type ReloadSignal, type Since } from './reload.js';
export { observeGateways, type Observation, type SourceDeps } from './sources.js';
export { syslogLog, teeLog } from './log.js';
export { auditFile, type AuditSink } from './audit.js';
