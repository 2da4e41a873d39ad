/** Native surface of the nvlist module (filled in when the module lands). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NvlistNative {}
