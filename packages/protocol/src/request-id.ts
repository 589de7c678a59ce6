/**
 * A request id is 64 bits on the wire: flowId in the high 32 bits, the flow's sequence number in the low 32.
 * Both halves travel in the fixed frame header (never in the msgpack body) so a reply can be routed
 * to its flow before, or without, decoding its body. Code handles the halves as two numbers; the
 * bigint form exists for logs and for callers that want one value.
 */

/** flowId 0 is the connection's own traffic (Hello, KeepAlive, cluster map). */
export const CONNECTION_FLOW_ID = 0;
export const MAX_FLOW_ID = 0x7fff_ffff;
export const MAX_SEQUENCE = 0xffff_ffff;

/** flowIds run 1..2^31-1 and wrap back to 1, never to 0. */
export function nextFlowId(flowId: number): number {
  return flowId >= MAX_FLOW_ID || flowId < 1 ? 1 : flowId + 1;
}

/** Sequences use all 32 bits and wrap to 0 (Pravega masked them to 28 bits; we do not). */
export function nextSequence(sequence: number): number {
  return (sequence + 1) >>> 0;
}

export function requestIdOf(flowId: number, sequence: number): bigint {
  return (BigInt(flowId >>> 0) << 32n) | BigInt(sequence >>> 0);
}

export function splitRequestId(requestId: bigint): { flowId: number; sequence: number } {
  return { flowId: Number((requestId >> 32n) & 0xffff_ffffn), sequence: Number(requestId & 0xffff_ffffn) };
}

export function formatRequestId(flowId: number, sequence: number): string {
  return `${flowId}:${sequence}`;
}
