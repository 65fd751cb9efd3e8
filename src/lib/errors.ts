/**
 * An error the user can act on (missing tool, bad input file, failed verification): the CLI
 * prints its message alone, without a stack trace, and exits with `exitCode` (1 by default).
 * Messages say what is wrong and what to do about it.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** What an admin can do about the system errors a full, read-only or failing disk gives. */
const SYSTEM_ERROR_ADVICE: Record<string, string> = {
  ENOSPC: 'no space left on the device: free some space',
  EDQUOT: 'the disk quota is used up: free some space or raise the quota',
  EROFS: 'the file system is read-only: make it writable',
  EACCES: 'permission denied: run it as root',
  EPERM: 'operation not permitted: run it as root',
  EIO: 'input/output error: check the disk (dmesg)',
  EMFILE: 'too many open files: raise the limit (ulimit -n)',
  ENFILE: 'too many open files on this system',
};

/**
 * A Node system error (a full disk, a read-only file system...) as a UserError naming the
 * path and what to do, instead of a stack trace; undefined for any other error.
 */
export function systemErrorAsUserError(error: unknown): UserError | undefined {
  const errno = error as NodeJS.ErrnoException | undefined;
  if (!errno || typeof errno.code !== 'string' || !Object.hasOwn(SYSTEM_ERROR_ADVICE, errno.code)) return undefined;
  const dest = (errno as { dest?: string }).dest;
  const where = errno.path ? `${errno.syscall ?? 'access'} ${errno.path}${dest ? ` -> ${dest}` : ''}` : (errno.syscall ?? 'a system call');
  return new UserError(`${where} failed: ${SYSTEM_ERROR_ADVICE[errno.code]} (${errno.code}); then run it again`);
}
