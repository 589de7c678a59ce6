import { createRequire } from 'node:module';
import type { EventHeaders } from '@sluice/protocol';

/** The trace context headers of the active span, or null when no span is active. */
export type TraceContextSource = () => EventHeaders | null;

/** The few calls of @opentelemetry/api used here (its types are not a dependency of this package). */
interface OpenTelemetryApi {
  context: { active(): unknown };
  trace: { getSpanContext(context: unknown): SpanContext | undefined };
  isSpanContextValid(spanContext: SpanContext): boolean;
}

interface SpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: { serialize(): string };
}

/**
 * Loads @opentelemetry/api, an optional peer dependency, once a writer asks for trace propagation;
 * null when it is not installed. Loaded synchronously so that the first write already carries its span.
 */
export function loadTraceContext(): TraceContextSource | null {
  let api: OpenTelemetryApi;
  try {
    api = createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi;
  } catch {
    return null;
  }
  return () => activeTraceHeaders(api);
}

/** W3C trace context (traceparent, and tracestate when there is one) of the active span. */
function activeTraceHeaders(api: OpenTelemetryApi): EventHeaders | null {
  const span = api.trace.getSpanContext(api.context.active());
  if (span === undefined || !api.isSpanContextValid(span)) return null;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const headers: EventHeaders = { traceparent: `00-${span.traceId}-${span.spanId}-${flags}` };
  const state = span.traceState?.serialize();
  if (state) headers.tracestate = state;
  return headers;
}
