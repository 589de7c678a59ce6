// The server side of the node-dsync-rpc floor: a plain Node TCP server on loopback that, for each
// request (u32 length + bytes), makes one synchronous O_DSYNC pwrite of the bytes at the end of what
// its file holds (the file sized ahead, as dsync-floor's) and answers with 8 bytes. No protocol,
// codec or storage engine: what an awaited durable write costs through two Node event loops and one
// loopback round trip. Prints {"port":N} when
// listening; exits when its client goes, or after argv[3] seconds (default 600) whatever happens.
import { constants, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { sizedAhead } from './sized-ahead.mjs';

const [, , file, lifetimeS = '600'] = process.argv;
setTimeout(() => process.exit(3), Number(lifetimeS) * 1000).unref();

const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC);
const makeRoom = sizedAhead(fd);
const ANSWER = Buffer.alloc(8);
let position = 0;

const server = createServer((socket) => {
  server.close();
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.byteLength >= 4 && pending.byteLength >= 4 + pending.readUInt32BE(0)) {
      const end = 4 + pending.readUInt32BE(0);
      makeRoom(position + end - 4);
      position += writeSync(fd, pending, 4, end - 4, position);
      socket.write(ANSWER);
      pending = pending.subarray(end);
    }
  });
  socket.on('close', () => process.exit(0));
  socket.on('error', () => process.exit(4));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
