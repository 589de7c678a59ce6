import { describe, expect, it } from 'vitest';
import { ProtocolViolationError } from '../errors.js';
import { useFakeServer } from '../../test-support/fake-server-fixture.js';
import { segmentInfoFor } from '../../test-support/fake-server.js';

const fake = useFakeServer();

describe('replies of a type the request cannot get', () => {
  it('a ClusterMap on a CreateSegment request id is a protocol violation: the request fails, the connection closes', async () => {
    const sdk = fake.client();
    const flow = sdk.context.openFlow(fake.server.endpoint);
    fake.server.handler = (request, connection) => {
      if (request.command.type === 'CreateSegment') {
        connection.reply(request, { type: 'ClusterMap', members: [fake.server.endpoint], containerCount: 4, fingerprint: 'fake', epoch: 0, primaries: [], backups: [] });
      } else {
        connection.reply(request, segmentInfoFor(request.command));
      }
    };
    const error = await flow.request({ type: 'CreateSegment', segment: 's/created/0', token: null }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ProtocolViolationError);
    expect((error as ProtocolViolationError).message).toMatch(/ClusterMap is not a reply to CreateSegment/);
    // The connection is no longer trusted: the client closed it.
    await expect.poll(() => fake.server.openConnections.length, { timeout: 10_000 }).toBe(0);

    // The flow goes on over a new connection, where a reply of the right type is taken.
    const info = await flow.request({ type: 'GetSegmentInfo', segment: 's/info/0', token: null });
    expect((info as { segment: string }).segment).toBe('s/info/0');
    expect(fake.server.connections).toHaveLength(2);
  });

  it('an error reply any request can get is still the typed error, not a violation', async () => {
    const sdk = fake.client();
    const flow = sdk.context.openFlow(fake.server.endpoint);
    fake.server.handler = (request, connection) => connection.reply(request, { type: 'ErrorMessage', code: 'EVENT_TOO_LARGE', message: 'x' });
    const error = await flow.request({ type: 'SetupAppend', segment: 's/a/0', writerId: 'w', token: null }).catch((failure: unknown) => failure);
    expect(error).not.toBeInstanceOf(ProtocolViolationError);
    expect((error as { serverCode: string }).serverCode).toBe('EVENT_TOO_LARGE');
    expect(fake.server.openConnections).toHaveLength(1);
  });
});
