/** statekill's library API. */
export { openTable, StateTable, type OpenOptions, type StateTableEvents } from './engine/table.js';
export { buildPlan, plannedStates, type PlannedState } from './engine/plan.js';
// Plans run only through StateTable.execute (which checks the plan is that table's); the module's
// executePlan would run any plan on any backend, so it is not exported.
export { KILLED, ALREADY_GONE, NOT_ATTEMPTED, FAILURES_LISTED, type ExecuteResult, type KillFailure } from './engine/execute.js';
export { parseCidr, formatAddr } from './engine/addr.js';
export { validateSelections, type ValidateTarget, type ValidSelections, type BackendKind } from './engine/validate.js';
export { PfBackend } from './backends/pf.js';
export { PfNetlinkBackend } from './backends/pf-netlink.js';
export { streamSelect, streamPlan } from './engine/streamSelect.js';
export { createSimKernel, SIM_QUIRKS, SIM_VERSIONS, type SimSource } from './backends/sim.js';
export { runDoctor, type DoctorOptions, type DoctorReport, type DoctorCheck } from './backends/doctor.js';
export { ConntrackBackend, type ConntrackBackendOptions } from './backends/conntrack.js';
export { loadTableFile, saveTableFile, type TableFormat } from './table/file.js';
export { parseJsonl, jsonLines, stateToJson } from './table/jsonl.js';
export { decodeState, protoName, parseProto } from './table/records.js';
export { StatekillError, isStatekillError, type StatekillErrorCode, type ErrnoCode } from './errors.js';
export type * from './engine/types.js';
export * from './policy/index.js';
