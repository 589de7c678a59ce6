/**
 * The operation's result, or null when the file or directory it works on does not exist (ENOENT):
 * for the many places where "not there yet" is a normal state (no checkpoint, no epochs file, no
 * data dir) and every other error must still surface.
 */
export async function unlessMissing<T>(operation: Promise<T>): Promise<T | null> {
  try {
    return await operation;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
