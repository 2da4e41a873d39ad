/** The addon's surface, one interface per native module (each declared beside its owner's types). */
import type { StatekillErrorCode } from '../errors.js';
import type { PfNative } from './types-pf.js';
import type { SimNative } from './types-sim.js';
import type { EngineNative } from './types-engine.js';
import type { NvlistNative } from './types-nvlist.js';
import type { NetlinkNative } from './types-netlink.js';
import type { ConntrackNative } from './types-conntrack.js';

export interface NativeAddon extends PfNative, SimNative, EngineNative, NvlistNative, NetlinkNative, ConntrackNative {
  /** The class the addon constructs its errors with (errno names as codes: ErrnoCode). */
  setErrorClass(cls: new (message: string, errno: number, code: StatekillErrorCode) => Error): void;
}
