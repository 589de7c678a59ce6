import { streamOfMetadataSegment, type Command, type CommandOf } from '@sluice/protocol';
import type { SegmentServices } from './segment-requests.js';

/**
 * The streams defined in the containers this node serves: each stream's metadata segment lives in
 * exactly one container, so the union of every node's answer is the cluster's list. With auth on,
 * the token must be genuine and only the streams it may read are listed.
 */
export function listLocalStreams(request: CommandOf<'ListStreams'>, services: SegmentServices): Command {
  const { authorizer, cluster, store } = services;
  const authentication = authorizer.authenticate(request.token);
  if (!authentication.ok) return { type: 'AuthTokenCheckFailed', segment: null, message: authentication.message };
  const prefix = request.scope === null ? '' : `${request.scope}/`;
  const streams: string[] = [];
  for (const container of cluster.ownedContainers) {
    for (const segment of store.container(container).segmentNames()) {
      const stream = streamOfMetadataSegment(segment);
      if (stream === null || !stream.startsWith(prefix)) continue;
      if (authorizer.check(request.token, segment, 'read').ok) streams.push(stream);
    }
  }
  return { type: 'StreamList', streams: streams.sort() };
}
