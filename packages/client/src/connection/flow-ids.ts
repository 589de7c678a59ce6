import { MAX_FLOW_ID, nextFlowId } from '@sluice/protocol';

/** Hands out flowIds unique within one client: 1..2^31-1, wrapping to 1, skipping ids in use. */
export class FlowIdAllocator {
  private readonly inUse = new Set<number>();

  constructor(private last = 0) {}

  allocate(): number {
    if (this.inUse.size >= MAX_FLOW_ID) throw new Error('every flowId is in use');
    let candidate = nextFlowId(this.last);
    while (this.inUse.has(candidate)) candidate = nextFlowId(candidate);
    this.last = candidate;
    this.inUse.add(candidate);
    return candidate;
  }

  free(flowId: number): void {
    this.inUse.delete(flowId);
  }

  get size(): number {
    return this.inUse.size;
  }
}
