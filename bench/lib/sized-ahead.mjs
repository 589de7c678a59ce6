// Files sized ahead of what is written to them, as Sluice's log writer keeps its open log file
// (ROOM_AHEAD_BYTES in packages/server/src/store/log-writer.ts): an O_DSYNC write that ends inside
// the file's size need not commit a new size to the file system's journal. The disk floors write
// this way so that they stay the least a durable append of Sluice's kind can cost here.
import { ftruncateSync } from 'node:fs';

const ROOM_AHEAD_BYTES = 1024 * 1024;

/** Returns makeRoom(end): sets the size of the file open at `fd` ahead whenever a write would end past it. */
export function sizedAhead(fd) {
  let size = 0;
  return (end) => {
    if (end <= size) return;
    size = end + ROOM_AHEAD_BYTES;
    ftruncateSync(fd, size);
  };
}
