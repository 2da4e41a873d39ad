/** Native surface of the sim module (filled in when the module lands). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SimNative {}
