/** statekill's library API. */
export { openTable, StateTable, type OpenOptions } from './engine/table.js';
export { buildPlan, plannedStates, type PlannedState } from './engine/plan.js';
export { executePlan, type ExecuteResult } from './engine/execute.js';
export { parseCidr, formatAddr } from './engine/addr.js';
export { validateSelections, type ValidateTarget, type ValidSelections, type BackendKind } from './engine/validate.js';
export { PfBackend } from './backends/pf.js';
export { PfNetlinkBackend } from './backends/pf-netlink.js';
export { streamSelect, streamPlan } from './engine/streamSelect.js';
export { createSimKernel, type SimSource } from './backends/sim.js';
export { ConntrackBackend, type ConntrackBackendOptions } from './backends/conntrack.js';
export { loadTableFile, saveTableFile, type TableFormat } from './table/file.js';
export { parseJsonl, jsonLines, stateToJson } from './table/jsonl.js';
export { decodeState } from './table/records.js';
export { StatekillError } from './errors.js';
export type * from './engine/types.js';
export * from './policy/index.js';
