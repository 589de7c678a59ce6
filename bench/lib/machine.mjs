// What the numbers were measured on: they mean little without it.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { findBinary } from './processes.mjs';

function versionOf(binary) {
  const path = findBinary(binary);
  if (!path) return null;
  try {
    const line = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 }).split('\n')[0];
    return /v=?(\d+\.\d+\.\d+)/.exec(line)?.[1] ?? line.trim();
  } catch {
    return 'unknown version';
  }
}

export function describeMachine(dataDir) {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    dataDir,
    peers: { 'redis-server': versionOf('redis-server'), 'nats-server': versionOf('nats-server') },
  };
}
