/**
 * Bytes changed on disk never reach a reader as data: every read from a log file checks its
 * record's CRC; a bad record fails the read with DataCorruptionError naming segment and offset, is
 * logged and counted. After kill -9, damage in the middle of the log refuses the start (saying
 * what to do), and `sluice-server repair` keeps the good prefix, saying what it dropped.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { DataCorruptionError, SluiceClient, type EventReader } from '@sluice/client';
import { describe, expect, it } from 'vitest';

import { scrape } from './helpers/prometheus.js';
import { runCli, startServer } from './helpers/server-process.js';

const EVENTS = 20;
const payload = (n: number): string => `event-${String(n).padStart(3, '0')}-${'x'.repeat(200)}`;

async function writeEvents(address: string, stream: string): Promise<void> {
  const client = new SluiceClient({ endpoints: [address] });
  await client.createStream(stream, { segments: 1 });
  const writer = client.createWriter(stream);
  for (let n = 0; n < EVENTS; n++) await writer.write('k', payload(n)); // one record each
  await writer.close();
  await client.close();
}

/** Flips one byte inside event n's payload in whichever log file holds it. */
function corruptEvent(dataDir: string, n: number): void {
  const containers = path.join(dataDir, 'containers');
  for (const container of readdirSync(containers)) {
    for (const name of readdirSync(path.join(containers, container)).filter((file) => file.endsWith('.log'))) {
      const file = path.join(containers, container, name);
      const bytes = readFileSync(file);
      const at = bytes.indexOf(payload(n));
      if (at < 0) continue;
      bytes.writeUInt8(bytes.readUInt8(at + 50) ^ 0xff, at + 50);
      writeFileSync(file, bytes);
      return;
    }
  }
  throw new Error(`event ${n} is in no log file under ${containers}`);
}

async function readAll(reader: EventReader): Promise<{ texts: string[]; error: unknown }> {
  const texts: string[] = [];
  const timer = setTimeout(() => reader.close(), 10_000);
  try {
    for await (const event of reader) {
      texts.push(event.data.toString());
      if (texts.length === EVENTS) break;
    }
    return { texts, error: null };
  } catch (error) {
    return { texts, error };
  } finally {
    clearTimeout(timer);
  }
}

describe('data corruption', () => {
  it('a record changed on disk after a clean stop fails the read with DataCorruptionError; it is logged and counted', async () => {
    const server = await startServer({ args: ['--metrics-port', '0'] });
    await writeEvents(server.address, 'corrupt/clean-stop');
    expect(await server.stop()).toBe(0);
    corruptEvent(server.dataDir, 10);
    await server.start(); // the checkpoint covers the log: recovery does not read the bad record

    const client = new SluiceClient({ endpoints: [server.address] });
    const { texts, error } = await readAll(client.createReader('corrupt/clean-stop'));
    expect(texts).toEqual(Array.from({ length: 10 }, (_, n) => payload(n)));
    expect(error).toBeInstanceOf(DataCorruptionError);
    expect((error as DataCorruptionError).code).toBe('DATA_CORRUPTION');
    expect((error as Error).message).toContain('corrupt/clean-stop/0');
    expect((error as Error).message).toMatch(/offset \d+/);
    await client.close();

    expect((await scrape(server)).value('sluice_corrupt_reads_total')).toBeGreaterThanOrEqual(1);
    await server.waitForLog('corrupt record in a log file');
    await server.stop();
  });

  it('after kill -9, damage mid-log refuses the start; `sluice-server repair` keeps the good prefix and says what it dropped', async () => {
    const server = await startServer();
    await writeEvents(server.address, 'corrupt/killed');
    await server.kill('SIGKILL');
    corruptEvent(server.dataDir, 10);

    await expect(server.start()).rejects.toThrow(/sluice-server repair/);
    expect(server.output()).not.toMatch(/\breplicas?\b/); // (the word: paths in stack traces may say "replication")

    const repaired = await runCli(['repair', '--data-dir', server.dataDir]);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/cut .*log-\d+\.log at byte \d+ \(CRC mismatch\)/);
    expect(repaired.stdout).toMatch(/dropped \d+ bytes/);

    await server.start();
    const client = new SluiceClient({ endpoints: [server.address] });
    const reader = client.createReader('corrupt/killed');
    const timer = setTimeout(() => reader.close(), 3_000); // the prefix, then the reader waits at the tail
    const texts: string[] = [];
    for await (const event of reader) texts.push(event.data.toString());
    clearTimeout(timer);
    expect(texts).toEqual(Array.from({ length: 10 }, (_, n) => payload(n)));
    await client.close();
    await server.stop();
  });
});
