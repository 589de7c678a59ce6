import { encodeFrame, type CommandOf } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';

import type { Connection } from './connection.js';
import { FlowChannel, type FlowPlacer } from './flow-channel.js';

/** A flow on a connection that records the parts of each frame it is asked to write. */
function recordingFlow(flowId: number): { flow: FlowChannel; sent: Buffer[][] } {
  const sent: Buffer[][] = [];
  const connection = { endpoint: 'node:1', send: (parts: readonly Buffer[]) => void sent.push([...parts]), noteSettled: () => undefined } as unknown as Connection;
  const placer: FlowPlacer = { endpoint: 'node:1', requestTimeoutMs: 60_000, place: () => Promise.resolve(connection), release: () => undefined, retire: () => undefined };
  return { flow: new FlowChannel(flowId, true, placer), sent };
}

async function firstFrame(sent: Buffer[][]): Promise<Buffer[]> {
  for (let turn = 0; turn < 100 && sent.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
  return sent[0]!;
}

const replicate = (data: Buffer): CommandOf<'Replicate'> => ({
  type: 'Replicate',
  container: 3,
  epoch: 7,
  dataEpoch: 6,
  fileNumber: 2,
  position: 4096,
  committedFileNumber: 2,
  committedPosition: 1024,
  data,
  token: null,
});

describe('FlowChannel request with trailing parts', () => {
  it('writes the frame of the whole command, the parts by reference after its head, none joined', async () => {
    const { flow, sent } = recordingFlow(5);
    const parts = [Buffer.from('record head'), Buffer.alloc(70_000, 7), Buffer.from('next record')];
    const reply = flow.request(replicate(Buffer.alloc(0)), { trailing: parts });
    const frame = await firstFrame(sent);
    expect(Buffer.concat(frame)).toEqual(encodeFrame(5, 0, replicate(Buffer.concat(parts))));
    expect(frame.slice(1)).toHaveLength(parts.length);
    frame.slice(1).forEach((part, i) => expect(part).toBe(parts[i]));
    flow.close();
    await expect(reply).rejects.toThrow();
  });

  it('refuses parts for a command whose last field is not an empty bytes field', async () => {
    const { flow, sent } = recordingFlow(5);
    await expect(flow.request(replicate(Buffer.from('x')), { trailing: [Buffer.from('y')] })).rejects.toThrow(/empty bytes field/);
    await expect(flow.request({ type: 'KeepAlive' } as never, { trailing: [Buffer.from('y')] })).rejects.toThrow(/empty bytes field/);
    expect(sent).toEqual([]);
    flow.close();
  });
});
