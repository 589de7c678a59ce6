/** Counters kept per endpoint across the lives of its connections; stats() reports them. */
export interface EndpointCounters {
  /** Replies whose flowId matched no flow on the connection: dropped, never thrown. */
  droppedUnknownFlow: number;
  /** Replies for a live flow whose sequence matched no pending request (e.g. after a timeout). */
  droppedUnknownSequence: number;
  connectionsOpened: number;
  connectionsLost: number;
  /** Flows placed again on a connection after losing theirs. */
  reconnects: number;
}

export function newEndpointCounters(): EndpointCounters {
  return { droppedUnknownFlow: 0, droppedUnknownSequence: 0, connectionsOpened: 0, connectionsLost: 0, reconnects: 0 };
}
