/** The failover policy as a library: for daemons with their own monitoring. */
export { loadConfig, parseConfig, DEFAULT_THRESHOLDS, type PolicyConfig, type GatewayConfig, type GroupConfig, type Trigger, type Product } from './config.js';
export { decide, isFailed, type Decision, type DecideInput, type DecideResult, type PolicyEvent } from './decide.js';
export { runDecisions, anyKillFailed, describeReport, type StateKiller, type PolicyLog, type Outcome, type RunOptions } from './execute.js';
export { engineKiller, tableTarget } from './engine-killer.js';
export { runEvent, type EventRequest, type EventDeps } from './event-runner.js';
export { Watcher, type WatcherDeps } from './watcher.js';
export { classifySample, parseStatusWord, parseDpingerLine, readDpingerSocket, isDownUnder, describeStatus, type GatewayStatus, type DpingerSample } from './status.js';
export { parseIfconfigCarp, carpRole, probeCarpRole, ifconfigProbe, type CarpEntry, type CarpProbe, type CarpRole } from './carp.js';
export { emptyState, loadState, saveState, type PolicyState, type GatewayMemory } from './state.js';
export { waitForMarker, type ReloadWaiter } from './reload.js';
