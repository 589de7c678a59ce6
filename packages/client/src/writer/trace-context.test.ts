import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import { envelopesOf, decodeHeaders } from '@sluice/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { EventWriter } from './event-writer.js';
import { FakeNode } from '../../test-support/fake-node.js';

/** What an OpenTelemetry SDK registers: the active context follows async calls. */
class AsyncContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(active: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(active, () => fn.apply(thisArg, args));
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const SPAN = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncContextManager());
});

afterAll(() => {
  context.disable();
});

function writerWith(traceContext: boolean): { node: FakeNode; writer: EventWriter } {
  const node = new FakeNode();
  return { node, writer: new EventWriter(node.context({}), 'unit/traced', { traceContext }) };
}

function sentHeaders(node: FakeNode): Array<Record<string, string>> {
  return node.appends.flatMap((append) => envelopesOf(Buffer.from(append.data)).map((event) => (event.headers ? decodeHeaders(event.headers) : {})));
}

describe('writer option traceContext (OpenTelemetry)', () => {
  it("puts the active span's traceparent into each write made inside it, and nothing outside spans", async () => {
    const { node, writer } = writerWith(true);
    const inSpan = trace.setSpanContext(ROOT_CONTEXT, SPAN);
    await context.with(inSpan, async () => {
      await writer.write('k', 'traced', { headers: { other: 'kept' } });
      await Promise.resolve();
      await writer.write('k', 'still in the span');
    });
    await writer.write('k', 'outside');
    await context.with(inSpan, () => writer.write('k', 'own traceparent', { headers: { traceparent: 'mine' } }));
    expect(sentHeaders(node)).toEqual([{ other: 'kept', traceparent: TRACEPARENT }, { traceparent: TRACEPARENT }, {}, { traceparent: 'mine' }]);
    await writer.close();
  });

  it('is off by default: spans are not looked at', async () => {
    const { node, writer } = writerWith(false);
    await context.with(trace.setSpanContext(ROOT_CONTEXT, SPAN), () => writer.write('k', 'untraced'));
    expect(sentHeaders(node)).toEqual([{}]);
    await writer.close();
  });

  it('is checked at construction', () => {
    const node = new FakeNode();
    expect(() => new EventWriter(node.context({}), 'unit/traced', { traceContext: 'yes' as unknown as boolean })).toThrow(InvalidOptionError);
  });
});
