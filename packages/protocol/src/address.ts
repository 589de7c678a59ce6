/** A node address as written in endpoints, on the command line and in the cluster map: `host:port`. */
export interface NodeAddress {
  host: string;
  port: number;
}

const PORT = /^\d{1,5}$/;

/**
 * 'host:port' or '[ipv6]:port' -> parts, or a sentence saying what is wrong. The one parser of
 * node addresses: the client's endpoints and the server's --node/--cluster use it alike. Port 0 is
 * refused unless allowZeroPort (a listen address; a node others dial needs a real port).
 */
export function parseAddress(text: string, allowZeroPort = false): NodeAddress | string {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return `"${text}" is not host:port`;
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || /[\s,/]/.test(host)) return `"${text}" has no usable host`;
  const port = PORT.test(portText) ? Number(portText) : NaN;
  if (!(port >= (allowZeroPort ? 0 : 1) && port <= 65535)) return `"${text}" has no port in ${allowZeroPort ? 0 : 1}-65535`;
  return { host, port };
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
