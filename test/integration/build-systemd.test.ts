/**
 * Issue 2 on the systemd image: built once (test/helpers/images.ts), checked from the tarball,
 * booted in a fresh network namespace, stopped. The checks are in test/helpers/image-checks.ts.
 */
import { registerImageTests } from '../helpers/image-checks.js';

registerImageTests('systemd');
