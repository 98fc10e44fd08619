/**
 * The process umask. The controller runs with 0o077 so that whatever it (or the router it spawns)
 * creates under .slipway/ is the owner's alone, even where a file is created without an explicit
 * mode. Instances are the user's programs: they get back the umask the user started Slipway with.
 */
let userUmask: number | undefined;

/** Sets the umask to 0o077 and remembers the one before for `withUserUmask`. */
export function restrictUmask(): void {
  const before = process.umask(0o077);
  userUmask ??= before;
}

/**
 * Runs `fn` (a synchronous spawn: fork and exec happen inside the call) under the user's own
 * umask, so a child inherits that one rather than the controller's.
 */
export function withUserUmask<T>(fn: () => T): T {
  if (userUmask === undefined) return fn();
  const mine = process.umask(userUmask);
  try {
    return fn();
  } finally {
    process.umask(mine);
  }
}
