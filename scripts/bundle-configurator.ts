/**
 * `npm run bundle:configurator [-- OUT]`: bundles the configurator into one file for Node.js 18
 * (default dist/jitsi-meet-config), the same bytes the build installs as
 * /usr/sbin/jitsi-meet-config. For trying it in a container by hand.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleConfigurator } from '../src/builder/stages/install-configurator.js';

const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const outFile = resolve(process.argv[2] ?? resolve(projectRoot, 'dist/jitsi-meet-config'));
await bundleConfigurator(projectRoot, outFile);
process.stdout.write(`${outFile}\n`);
