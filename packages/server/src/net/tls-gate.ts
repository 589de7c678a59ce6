import net, { type Socket } from 'node:net';
import type tls from 'node:tls';

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * The TCP listener of a TLS node. It looks at the first byte a peer sends: a TLS handshake goes to
 * the TLS server (which handshakes, then emits 'secureConnection'); anything else goes to
 * onPlaintext, so a client that forgot its TLS option is told so in the plain protocol instead of
 * seeing the connection drop without a word (which is what OpenSSL does with a non-TLS record). A
 * legal Sluice frame cannot start with 0x16: that would be a length prefix over 352 MiB.
 *
 * A peer that sends nothing within firstByteTimeoutMs is dropped; after the first byte the TLS
 * server's handshakeTimeout applies.
 */
export function createTlsGate(
  tlsServer: tls.Server,
  options: { firstByteTimeoutMs: number; onPlaintext(socket: Socket): void },
): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => {}); // a reset before anything arrived is not our problem
    const timer = setTimeout(() => socket.destroy(), options.firstByteTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      // Put the bytes back: the TLS socket (or the plain handler) reads them first.
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE_RECORD) tlsServer.emit('connection', socket);
      else options.onPlaintext(socket);
    });
  });
}
