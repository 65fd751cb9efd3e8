/** jitsi-meet-config --check on a configured openrc image: see test/helpers/check-suite.ts. */
import { registerCheckTests } from '../helpers/check-suite.js';

registerCheckTests('openrc');
