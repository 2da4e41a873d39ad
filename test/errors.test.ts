import { describe, expect, it } from 'vitest';
import { native } from '../src/native/index.js';
import { StatekillError } from '../src/errors.js';

describe('StatekillError', () => {
  it('is what the addon throws, with errno and code', () => {
    let caught: unknown;
    try {
      (native as unknown as { setErrorClass: (x: unknown) => void }).setErrorClass(42);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(StatekillError);
    expect((caught as StatekillError).errno).toBe(22);
    expect((caught as StatekillError).code).toBe('EINVAL');
  });
});

describe('the exported record helpers', () => {
  it('refuse a layout or index they cannot decode with E_BAD_INPUT, not a plain Error or RangeError', async () => {
    const { decodeState, stateToJson } = await import('../src/index.js');
    const bytes = new Uint8Array(384);
    for (const call of [
      () => decodeState(bytes, 0, 'ct'), // a conntrack snapshot's records
      () => stateToJson(bytes, 0, 'ct'),
      () => decodeState(bytes, 1, 'pf-export'), // past the last record
      () => decodeState(bytes, -1, 'pf-export'),
    ]) {
      expect(call).toThrow(StatekillError);
      try {
        call();
      } catch (e) {
        expect((e as StatekillError).code).toBe('E_BAD_INPUT');
      }
    }
  });

  it('an error without a report has no report property (util.inspect shows none)', () => {
    expect(Object.hasOwn(new StatekillError('x'), 'report')).toBe(false);
  });
});
