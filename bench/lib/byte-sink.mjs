// A separate process that receives bytes on one loopback TCP connection and counts them: the
// receiving end of the raw-loopback limit. Prints {"port":N} when listening; when the sender ends
// its side, answers with the byte count (u64 big-endian) and exits. Exits by itself after
// argv[2] seconds (default 120) whatever happens.
import { createServer } from 'node:net';

const lifetimeMs = Number(process.argv[2] ?? 120) * 1000;
setTimeout(() => process.exit(3), lifetimeMs);

const server = createServer((socket) => {
  server.close();
  let bytes = 0;
  socket.on('data', (chunk) => {
    bytes += chunk.byteLength;
  });
  socket.on('end', () => {
    const answer = Buffer.alloc(8);
    answer.writeBigUInt64BE(BigInt(bytes));
    socket.end(answer, () => process.exit(0));
  });
  socket.on('error', () => process.exit(4));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
