// What the fixed-work harnesses (bench/append-cpu.mjs, bench/read-cpu.mjs) and compare.mjs measure of
// a process besides its own process.cpuUsage: another process's CPU and faults, this one's garbage
// collections, the machine's load, and the median of rounds.
import { readFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';

/** A process's CPU seconds (user, sys) and minor page faults so far, from /proc/<pid>/stat. */
export function processCost(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100, faults: Number(fields[7]) };
}

/** "load 1.23 1.45 1.67": the 1, 5 and 15 minute load averages, to print beside every number. */
export function loadAverage() {
  return `load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Counts this process's garbage collections from now until stop() resolves with them. */
export function countGarbageCollections() {
  const counts = { scavenges: 0, markCompacts: 0, gcMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      counts.gcMs += entry.duration;
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.scavenges += 1;
      else if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.markCompacts += 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      await setImmediate(); // let the last gc entries arrive
      observer.disconnect();
      return counts;
    },
  };
}
