// The team gateway's PostgreSQL and Redis drivers are not installed with cortex-proxy (they are most of an
// install's size, and only the team gateway uses them): each is imported when a config names its service, and a
// missing one is a clear message naming the command that installs it, never a stack trace.

/** `load` must be a literal `() => import('<pkg>')`, so the bundler keeps the import external and lazy. */
export async function importDriver<T>(load: () => Promise<T>, pkg: string, setting: string): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && String(e.message).includes(pkg))
      throw new Error(
        `${setting} needs the ${pkg} driver, which is not installed with cortex-proxy: install it with npm install -g ${pkg} (next to a global cortex-proxy), or npm install ${pkg} in a clone`,
      );
    throw err;
  }
}
