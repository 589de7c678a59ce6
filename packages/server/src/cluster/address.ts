// Node addresses are parsed and formatted by @sluice/protocol, alike for clients and nodes.
export { formatAddress, parseAddress, type NodeAddress } from '@sluice/protocol';
