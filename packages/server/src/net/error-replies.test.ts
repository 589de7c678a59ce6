import { describe, expect, it } from 'vitest';

import { StoreError } from '../store/types.js';
import { errorMessage, errorReplyOf, RequestError } from './error-replies.js';

describe('error replies', () => {
  it('carry a code of the protocol error-code table; a misspelt code does not compile', () => {
    expect(errorMessage('NOT_PRIMARY', 'learn the map again')).toEqual({ type: 'ErrorMessage', code: 'NOT_PRIMARY', message: 'learn the map again' });
    // @ts-expect-error NOT_PRIMRY is not in ERROR_CODES
    errorMessage('NOT_PRIMRY', 'a typo');
    // @ts-expect-error SHUTING_DOWN is not in ERROR_CODES
    new RequestError('SHUTING_DOWN', 'a typo');
    // @ts-expect-error NO_SUCH_SEGMNT is not in ERROR_CODES
    new StoreError('NO_SUCH_SEGMNT', 'a typo');
  });

  it('turn a request error into an ErrorMessage with its code, and a store error into the reply of its name', () => {
    expect(errorReplyOf(new RequestError('NO_APPEND_SETUP', 'set up first'), 'a/b/0', 'w')).toEqual({
      type: 'ErrorMessage',
      code: 'NO_APPEND_SETUP',
      message: 'set up first',
    });
    expect(errorReplyOf(new StoreError('NO_SUCH_SEGMENT', 'gone'), 'a/b/0', null)).toEqual({ type: 'NoSuchSegment', segment: 'a/b/0' });
    expect(errorReplyOf(new Error('a bug'), 'a/b/0', null)).toBeNull();
  });
});
