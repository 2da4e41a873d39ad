/** Native surface of the engine module (filled in when the module lands). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EngineNative {}
