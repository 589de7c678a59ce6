export * from './types.js';
export { DEFAULT_STORE_OPTIONS, openSegmentStore } from './segment-store.js';
export { LogCorruptionError } from './recovery.js';
export { DataDirInUseError } from './data-dir-lock.js';
export { CheckpointCorruptError } from './checkpoint.js';
export { checkDataFormat, DataFormatError, DATA_FORMAT } from './data-format.js';
