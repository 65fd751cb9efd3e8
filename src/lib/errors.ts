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
