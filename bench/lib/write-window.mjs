// How much a throughput writer keeps in flight, the same for every system of a scenario, so a ratio
// compares stores and not window sizes: WRITE_BATCH writes per operation, WRITE_OPS_IN_FLIGHT
// operations at once (16 k events in flight).
export const WRITE_BATCH = 256;
export const WRITE_OPS_IN_FLIGHT = 64;
export const EVENTS_IN_FLIGHT = WRITE_BATCH * WRITE_OPS_IN_FLIGHT;
