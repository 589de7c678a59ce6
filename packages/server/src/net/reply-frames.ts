import { encodeFrame, encodeFrameHead, formatRequestId, type Command, type CommandOf } from '@sluice/protocol';
import type { Logger } from 'pino';

import type { ReadResult } from '../store/types.js';
import { errorMessage } from './error-replies.js';
import type { ReplyWriter } from './reply-writer.js';

/** A read reply with at least this much data is bulk: it goes out in parts, behind small replies. */
export const BULK_REPLY_BYTES = 16 * 1024;
/**
 * A bulk reply in more pieces than this (a read over many small blocks) is joined first: past it, a
 * socket write per piece costs more than one copy of the data.
 */
export const MAX_REPLY_PIECES = 64;

const NO_BYTES = Buffer.alloc(0);

/**
 * A SegmentRead reply that keeps the read's data as the blocks it lies in (ReadResult.parts), so that
 * sendReply writes them as they are; `data` joins them, for a small reply or any other use.
 */
export class SegmentReadReply implements CommandOf<'SegmentRead'> {
  readonly type = 'SegmentRead';

  constructor(
    readonly segment: string,
    private readonly result: ReadResult,
  ) {}

  get offset(): number {
    return this.result.offset;
  }

  get length(): number {
    return this.result.length;
  }

  get endOfSegment(): boolean {
    return this.result.endOfSegment;
  }

  get data(): Buffer {
    return this.result.data;
  }

  get parts(): readonly Buffer[] {
    return this.result.parts;
  }

  get byteLength(): number {
    return this.result.byteLength;
  }
}

/**
 * Writes a request's reply in its lane: a large read reply takes the writer's bulk lane, so it never
 * holds up another flow's small reply; every other reply is one frame in the small lane. A reply
 * that cannot be encoded goes out as an INTERNAL_ERROR instead.
 */
export function sendReply(writer: ReplyWriter, flowId: number, sequence: number, reply: Command, log: Logger): void {
  if (reply.type === 'SegmentRead') {
    const parts = readReplyParts(flowId, sequence, reply);
    if (parts !== null) {
      writer.writeBulkFrame(parts);
      return;
    }
  }
  writer.write(encodeReply(flowId, sequence, reply, log));
}

/**
 * A bulk read reply as [frame head, its data as the stored blocks it lies in]: the data (views of the
 * cache or of a log read) is not copied into a frame. Null for a small reply, or one that cannot be
 * encoded (encodeReply meets the same problem and answers with an error reply).
 */
function readReplyParts(flowId: number, sequence: number, reply: CommandOf<'SegmentRead'>): Buffer[] | null {
  // The read already counted its bytes (SegmentReadResult); a plain reply is its data.
  const bytes = reply instanceof SegmentReadReply ? reply.byteLength : reply.data.byteLength;
  if (bytes < BULK_REPLY_BYTES) return null;
  let pieces = reply instanceof SegmentReadReply ? reply.parts : [reply.data];
  if (pieces.length > MAX_REPLY_PIECES) pieces = [reply.data];
  const { segment, offset, length, endOfSegment } = reply;
  try {
    const head = encodeFrameHead(flowId, sequence, { type: 'SegmentRead', segment, offset, data: NO_BYTES, length, endOfSegment }, bytes);
    return [head, ...pieces];
  } catch {
    return null;
  }
}

function encodeReply(flowId: number, sequence: number, reply: Command, log: Logger): Buffer {
  try {
    return encodeFrame(flowId, sequence, reply);
  } catch (error) {
    log.error({ err: error, reply: reply.type, request: formatRequestId(flowId, sequence) }, 'could not encode reply');
    return encodeFrame(flowId, sequence, errorMessage('INTERNAL_ERROR', `${reply.type} could not be encoded`));
  }
}
