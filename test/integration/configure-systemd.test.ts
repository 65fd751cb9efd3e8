/** Issue 3 acceptance on the systemd image: see test/helpers/configure-suite.ts. */
import { registerConfigureTests } from '../helpers/configure-suite.js';

registerConfigureTests('systemd');
