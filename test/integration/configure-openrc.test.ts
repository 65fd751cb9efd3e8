/** Issue 3 acceptance on the OpenRC image: see test/helpers/configure-suite.ts. */
import { registerConfigureTests } from '../helpers/configure-suite.js';

registerConfigureTests('openrc');
