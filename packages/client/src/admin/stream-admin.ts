import { metadataSegmentOf, segmentNameOf, streamNameProblem } from '@sluice/protocol';
import type { ClientContext } from '../client-context.js';
import { InvalidOptionError, NoSuchSegmentError, NoSuchStreamError, StreamConflictError } from '../errors.js';
import type { SegmentAdmin, SegmentInfo } from './segment-admin.js';

export interface StreamInfo {
  stream: string;
  segments: number;
  sealed: boolean;
  /** Each segment's offsets and state, in index order. */
  segmentInfos: SegmentInfo[];
}

export const MAX_SEGMENTS_PER_STREAM = 4096;
const SEGMENT_COUNT = 'segmentCount';
const SEALED = 'sealed';

/**
 * Streams are kept in a metadata segment (`scope/name/#meta`) owned like any other segment: its
 * `segmentCount` attribute, set once by compare-and-set, is the stream's definition. Every step of
 * createStream tolerates having been done before, so a retry after a crash midway completes the
 * stream, and two clients creating it at once agree.
 */
export class StreamAdmin {
  private readonly segmentCounts = new Map<string, number>();

  constructor(
    private readonly context: ClientContext,
    private readonly segments: SegmentAdmin,
  ) {}

  async createStream(stream: string, options: { segments: number }): Promise<void> {
    assertStreamName(stream);
    const count = options?.segments;
    if (!Number.isInteger(count) || count < 1 || count > MAX_SEGMENTS_PER_STREAM) {
      throw new InvalidOptionError('segments', `must be an integer from 1 to ${MAX_SEGMENTS_PER_STREAM}, got ${String(count)}`);
    }
    const meta = metadataSegmentOf(stream);
    await this.segments.createSegment(meta);
    const { current } = await this.segments.updateAttribute(meta, SEGMENT_COUNT, null, count);
    if (current !== count) {
      throw new StreamConflictError(
        `stream ${stream} already exists with ${String(current)} segments, not ${count}; use another name or delete it first`,
      );
    }
    await Promise.all(Array.from({ length: count }, (_, index) => this.segments.createSegment(segmentNameOf(stream, index))));
    this.segmentCounts.set(stream, count);
  }

  /** The stream's segment count; cached, since it never changes once created. */
  async segmentCount(stream: string): Promise<number> {
    const cached = this.segmentCounts.get(stream);
    if (cached !== undefined) return cached;
    assertStreamName(stream);
    const count = await this.readSegmentCount(stream);
    this.segmentCounts.set(stream, count);
    return count;
  }

  async getStreamInfo(stream: string): Promise<StreamInfo> {
    const segments = await this.segmentCount(stream);
    const meta = metadataSegmentOf(stream);
    const [sealed, segmentInfos] = await Promise.all([
      this.segments.getAttribute(meta, SEALED),
      Promise.all(Array.from({ length: segments }, (_, index) => this.segments.getSegmentInfo(segmentNameOf(stream, index)))),
    ]);
    return { stream, segments, sealed: sealed !== null, segmentInfos };
  }

  /** Seals every segment: writers get SegmentIsSealedError, readers reach the end. */
  async sealStream(stream: string): Promise<void> {
    const segments = await this.segmentCount(stream);
    const meta = metadataSegmentOf(stream);
    const current = await this.segments.getAttribute(meta, SEALED);
    if (current === null) await this.segments.updateAttribute(meta, SEALED, null, 1);
    await Promise.all(Array.from({ length: segments }, (_, index) => this.segments.sealSegment(segmentNameOf(stream, index))));
  }

  async deleteStream(stream: string): Promise<void> {
    const segments = await this.segmentCount(stream);
    await Promise.all(
      Array.from({ length: segments }, (_, index) => ignoreMissing(this.segments.deleteSegment(segmentNameOf(stream, index)))),
    );
    await ignoreMissing(this.segments.deleteSegment(metadataSegmentOf(stream)));
    this.segmentCounts.delete(stream);
  }

  private async readSegmentCount(stream: string): Promise<number> {
    try {
      const count = await this.segments.getAttribute(metadataSegmentOf(stream), SEGMENT_COUNT);
      if (typeof count === 'number') return count;
    } catch (error) {
      if (!(error instanceof NoSuchSegmentError)) throw error;
    }
    throw new NoSuchStreamError(stream);
  }
}

function assertStreamName(stream: string): void {
  const problem = typeof stream === 'string' ? streamNameProblem(stream) : 'stream name must be a string';
  if (problem) throw new InvalidOptionError('stream', problem);
}

async function ignoreMissing(operation: Promise<void>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (!(error instanceof NoSuchSegmentError)) throw error;
  }
}
