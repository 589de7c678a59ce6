// Child processes of the bench (servers, peers, sinks): every one is tracked so that it is stopped
// when its scenario ends, on errors, and on Ctrl-C. Also: finding binaries and free loopback ports.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set();
let closing = false;

/** After this (Ctrl-C), starting a child throws: nothing new starts while the bench shuts down. */
export function refuseNewChildren() {
  closing = true;
}

/** Debian puts nats-server in /usr/sbin, which is not on every user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable, or null when it is not installed. */
export function findBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take --port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns a tracked child. Its stdout/stderr lines go to `onLine(line, stream)` and the last 50 are
 * kept in `child.tail` for error messages. The streams are always drained, so a chatty child never
 * blocks on a full pipe.
 */
export function spawnTracked(command, args, { cwd, env, onLine, name } = {}) {
  if (closing) throw new Error('the bench is shutting down');
  const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.tail = [];
  child.label = name ?? command;
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      live.delete(child);
      child.tail.push(`spawn error: ${error.message}`);
      resolve({ code: null, signal: null, error });
    });
  });
  live.add(child);
  for (const [name, stream] of [
    ['stdout', child.stdout],
    ['stderr', child.stderr],
  ]) {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      child.tail.push(line);
      if (child.tail.length > 50) child.tail.shift();
      onLine?.(line, name);
    });
  }
  return child;
}

/**
 * Resolves with the value `match(line)` returns for the first line where it is not undefined;
 * rejects when the child exits first or after timeoutMs, with the child's last output lines.
 */
export function waitForLine(child, match, { timeoutMs = 15_000, what = 'readiness' } = {}) {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (fn, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.off('line', onLine);
      fn(value);
    };
    const describe = (reason) =>
      new Error(`${child.label}: ${reason} while waiting for ${what}\n  ${child.tail.slice(-10).join('\n  ')}`);
    const onLine = (line) => {
      let value;
      try {
        value = match(line);
      } catch {
        value = undefined;
      }
      if (value !== undefined) settle(resolve, value);
    };
    const timer = setTimeout(() => settle(reject, describe(`no answer after ${timeoutMs} ms`)), timeoutMs);
    child.on('line', onLine);
    for (const line of child.tail) onLine(line);
    child.exited.then(({ code, signal }) => settle(reject, describe(`exited (code ${code}, signal ${signal})`)));
  });
}

/** Spawns a tracked child whose lines are also emitted as 'line' events (for waitForLine). */
export function spawnWithLines(command, args, options = {}) {
  let child = null;
  child = spawnTracked(command, args, {
    ...options,
    onLine: (line, stream) => {
      options.onLine?.(line, stream);
      child?.emit('line', line, stream);
    },
  });
  return child;
}

/** SIGTERM, then SIGKILL after graceMs. Resolves with { code, signal } once the child is gone. */
export async function stopProcess(child, { graceMs = 5000 } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const exited = await Promise.race([child.exited, sleep(graceMs).then(() => null)]);
  if (exited) return exited;
  child.kill('SIGKILL');
  return child.exited;
}

/** Stops every child still running (scenario end, errors, Ctrl-C). */
export async function stopAll({ graceMs = 2000 } = {}) {
  await Promise.all([...live].map((child) => stopProcess(child, { graceMs })));
}

/** Last resort on process exit: synchronous SIGKILL of whatever is left. */
export function killAllNow() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The children currently running (for per-scenario cleanup). */
export function liveChildren() {
  return new Set(live);
}
