// The built Sluice packages, loaded lazily: a scenario whose package is not built yet gives a
// skipped row instead of failing the whole run.

/** The @sluice/protocol module, or null when packages/protocol/dist is missing. */
export async function loadProtocol() {
  try {
    return await import('@sluice/protocol');
  } catch {
    return null;
  }
}

/** The @sluice/client module, or null when packages/client/dist is missing. */
export async function loadClient() {
  try {
    return await import('@sluice/client');
  } catch {
    return null;
  }
}

export const PROTOCOL_NOT_BUILT = 'protocol not built (npm run build --workspace @sluice/protocol)';
export const CLIENT_NOT_BUILT = 'client not built yet';
