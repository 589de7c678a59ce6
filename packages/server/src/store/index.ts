export * from './types.js';
export { DEFAULT_STORE_OPTIONS, openSegmentStore } from './segment-store.js';
export { LogCorruptionError } from './recovery.js';
export { CheckpointCorruptError } from './checkpoint.js';
