import { expect } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from '../src/errors.js';

/** Runs `run` and checks that it threw a ProtocolError with `code`; returns that error. */
export function expectProtocolError(run: () => unknown, code: ProtocolErrorCode): ProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(code);
    return error as ProtocolError;
  }
  throw new Error(`expected ProtocolError ${code}, nothing was thrown`);
}
