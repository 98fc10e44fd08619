import { userInfo } from 'node:os';

/** The name recorded as who deployed, promoted or aborted; "unknown" where the OS cannot say. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
