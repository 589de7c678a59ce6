/**
 * The on-disk format version (docs/decisions.md, "On-disk format"): a new data dir gets format.json;
 * a data dir written before event envelopes (log files, no format.json) or of another format is
 * refused at start with a message that says why and what to do, and nothing in it is changed.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SluiceClient } from '@sluice/client';
import { expect, it } from 'vitest';

import { makeTempDir, runCli, startServer } from './helpers/server-process.js';

it('writes format.json into a new data dir and refuses old or unknown formats with a clear message', async () => {
  const dataDir = makeTempDir('sluice-format-');
  const server = await startServer({ dataDir });
  const client = new SluiceClient({ endpoints: [server.address] });
  await client.createStream('format/s', { segments: 1 });
  const writer = client.createWriter('format/s');
  await writer.write('k', 'kept');
  await writer.close();
  await client.close();
  await server.stop();
  const formatFile = path.join(dataDir, 'format.json');
  expect(JSON.parse(await readFile(formatFile, 'utf8'))).toEqual({ dataFormat: 2 });

  // As a node from before envelopes left it: the same files, no format.json.
  await rm(formatFile);
  const old = await runCli(['--port', '0', '--data-dir', dataDir]);
  expect(old.code).toBe(1);
  expect(old.stderr).toContain('written by a sluice-server from before event envelopes (data format 1');
  expect(old.stderr).toContain('Start with an empty --data-dir');
  await expect(readFile(formatFile)).rejects.toMatchObject({ code: 'ENOENT' }); // left as it was

  await writeFile(formatFile, '{ "dataFormat": 3 }\n');
  const newer = await runCli(['--port', '0', '--data-dir', dataDir]);
  expect(newer.code).toBe(1);
  expect(newer.stderr).toContain('holds data format 3');

  // Back to format 2: the node opens it and the event is there.
  await writeFile(formatFile, '{ "dataFormat": 2 }\n');
  const again = await startServer({ dataDir });
  const reader = new SluiceClient({ endpoints: [again.address] });
  try {
    const events = reader.createReader('format/s', { from: 'head' });
    for await (const event of events) {
      expect([event.routingKey, event.data.toString()]).toEqual(['k', 'kept']);
      break;
    }
  } finally {
    await reader.close();
    await again.stop();
  }
});
