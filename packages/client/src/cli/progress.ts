const INTERVAL_MS = 200;

/**
 * A status line rewritten in place on stderr, at most every 200 ms, and only on a terminal: piped
 * or redirected output gets nothing. An empty text clears the line.
 */
export function createProgress(stderr: NodeJS.WritableStream & { isTTY?: boolean }): (text: string) => void {
  if (stderr.isTTY !== true) return () => {};
  let shownAt = 0;
  return (text) => {
    const now = Date.now();
    if (text !== '' && now - shownAt < INTERVAL_MS) return;
    shownAt = now;
    stderr.write(`\r\u001b[2K${text}`);
  };
}
