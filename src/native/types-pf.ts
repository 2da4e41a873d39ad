/** Native surface of the pf module (filled in when the module lands). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface PfNative {}
