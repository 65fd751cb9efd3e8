/**
 * Issue 2 on the OpenRC image (sysvinit as PID 1): built once (test/helpers/images.ts), checked
 * from the tarball, booted in a fresh network namespace, stopped through its .nspawn KillSignal.
 * The checks are in test/helpers/image-checks.ts.
 */
import { registerImageTests } from '../helpers/image-checks.js';

registerImageTests('openrc');
