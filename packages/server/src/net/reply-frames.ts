import { encodeFrame, encodeFrameParts, formatRequestId, type Command } from '@sluice/protocol';
import type { Logger } from 'pino';

import { errorMessage } from './error-replies.js';
import type { ReplyWriter } from './reply-writer.js';

/** A read reply with at least this much data is bulk: it goes out in parts, behind small replies. */
export const BULK_REPLY_BYTES = 16 * 1024;

/**
 * Writes a request's reply in its lane: a large read reply takes the writer's bulk lane, so it never
 * holds up another flow's small reply; every other reply is one frame in the small lane. A reply
 * that cannot be encoded goes out as an INTERNAL_ERROR instead.
 */
export function sendReply(writer: ReplyWriter, flowId: number, sequence: number, reply: Command, log: Logger): void {
  if (reply.type === 'SegmentRead' && reply.data.byteLength >= BULK_REPLY_BYTES) {
    let parts: Buffer[] | null = null;
    try {
      // The data (a view of the cache or of a log read) goes out as it is, not copied into a frame.
      parts = encodeFrameParts(flowId, sequence, reply, BULK_REPLY_BYTES);
    } catch {
      // encodeReply below meets the same problem and answers with an error reply.
    }
    if (parts !== null) {
      writer.writeBulkFrame(parts);
      return;
    }
  }
  writer.write(encodeReply(flowId, sequence, reply, log));
}

function encodeReply(flowId: number, sequence: number, reply: Command, log: Logger): Buffer {
  try {
    return encodeFrame(flowId, sequence, reply);
  } catch (error) {
    log.error({ err: error, reply: reply.type, request: formatRequestId(flowId, sequence) }, 'could not encode reply');
    return encodeFrame(flowId, sequence, errorMessage('INTERNAL_ERROR', `${reply.type} could not be encoded`));
  }
}
