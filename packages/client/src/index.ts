export { SluiceClient, type ClientStats } from './sluice-client.js';
export type { SluiceClientOptions, TokenSource } from './options.js';
export type { SegmentAdmin, SegmentInfo, AttributeUpdateResult } from './admin/segment-admin.js';
export type { StreamInfo } from './admin/stream-admin.js';
export type { EndpointStats } from './connection/endpoint-pool.js';
export type { Logger } from './logger.js';
export * from './errors.js';
