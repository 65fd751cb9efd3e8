/**
 * The stages of a build, in the order they run. Each stage is one file in this directory;
 * other parts of the project add their stage here with one line.
 */
import type { Stage } from '../stage.js';
import { bootstrap } from './bootstrap.js';
import { checkHostTools } from './check-host-tools.js';
import { cleanup } from './cleanup.js';
import { disableServices } from './disable-services.js';
import { inspect } from './inspect.js';
import { installConfigurator } from './install-configurator.js';
import { jitsiPackages } from './jitsi-packages.js';
import { lockRoot } from './lock-root.js';
import { nspawnSettingsStage } from './nspawn-settings.js';
import { overlays } from './overlays.js';
import { pack } from './pack.js';
import { packageList } from './package-list.js';
import { sign } from './sign.js';

export const stages: Stage[] = [
  checkHostTools,
  bootstrap,
  jitsiPackages,
  overlays,
  installConfigurator,
  disableServices,
  lockRoot,
  cleanup,
  packageList,
  nspawnSettingsStage,
  pack,
  inspect,
  sign,
];
