/**
 * Memory of another process (a sluice-server child) from /proc/<pid>/status: resident set size now
 * (VmRSS) and its high-water mark (VmHWM), in bytes. Linux only; tests that need it skip elsewhere.
 */
import { existsSync, readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

export const canReadProcessMemory = process.platform === 'linux' && existsSync('/proc/self/status');

export interface ProcessMemory {
  rss: number;
  /** The most RSS the process ever had. */
  peakRss: number;
}

export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: field('VmRSS'), peakRss: field('VmHWM') };
}

/** Samples the process every intervalMs until stop() and reports the highest RSS seen. */
export function sampleRss(pid: number, intervalMs = 50): { stop(): number } {
  let highest = processMemory(pid).rss;
  const timer = setInterval(() => {
    try {
      highest = Math.max(highest, processMemory(pid).rss);
    } catch {
      // the process exited: keep what we saw
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      try {
        highest = Math.max(highest, processMemory(pid).rss);
      } catch {
        // exited
      }
      return highest;
    },
  };
}

/** Waits until the process's RSS is at most limit (garbage is collected lazily), up to timeoutMs; returns the last RSS. */
export async function rssSettlesBelow(pid: number, limit: number, timeoutMs = 5_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let rss = processMemory(pid).rss;
  while (rss > limit && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rss = processMemory(pid).rss;
  }
  return rss;
}
