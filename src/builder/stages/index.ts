/**
 * The stages of a build, in the order they run, one list per distribution. Each stage is one
 * file in this directory; other parts of the project add their stage here with one line.
 */
import type { RecipeDistro } from '../recipe/schema.js';
import type { Stage } from '../stage.js';
import { bootstrap } from './bootstrap.js';
import { checkHostTools } from './check-host-tools.js';
import { cleanup } from './cleanup.js';
import { disableServices } from './disable-services.js';
import { gentooJitsi } from './gentoo-jitsi.js';
import { gentooPortage } from './gentoo-portage.js';
import { gentooStage3 } from './gentoo-stage3.js';
import { inspect } from './inspect.js';
import { installConfigurator } from './install-configurator.js';
import { jitsiPackages } from './jitsi-packages.js';
import { lockRoot } from './lock-root.js';
import { nspawnSettingsStage } from './nspawn-settings.js';
import { overlays } from './overlays.js';
import { pack } from './pack.js';
import { packageList } from './package-list.js';
import { sign } from './sign.js';

/** What every image gets once its root holds its packages, whatever made the root. */
const imageStages: Stage[] = [overlays, installConfigurator, disableServices, lockRoot, cleanup, packageList, nspawnSettingsStage, pack, inspect, sign];

/** Debian images: mmdebstrap, then Jitsi's packages with apt. */
export const stages: Stage[] = [checkHostTools, bootstrap, jitsiPackages, ...imageStages];

/** Gentoo images: the verified stage3 as the root, portage's packages, Jitsi's verified .debs. */
export const gentooStages: Stage[] = [checkHostTools, gentooStage3, gentooPortage, gentooJitsi, ...imageStages];

/** The stage list of a recipe's distribution. */
export function stagesFor(distro: RecipeDistro): Stage[] {
  return distro === 'gentoo' ? gentooStages : stages;
}
