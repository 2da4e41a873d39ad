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
