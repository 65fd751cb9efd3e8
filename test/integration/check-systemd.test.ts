/** jitsi-meet-config --check on a configured systemd image: see test/helpers/check-suite.ts. */
import { registerCheckTests } from '../helpers/check-suite.js';

registerCheckTests('systemd');
