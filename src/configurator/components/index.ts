/**
 * The one list of components. Adding a component means adding its folder and a line here; the
 * apply step, the tests and the agreement test (systemd target, OpenRC service, recipe and
 * `inspect` against this list) all walk it.
 */
import type { DistributionLayout } from '../distribution.js';
import type { MasterConfig } from '../master-config.js';
import { coturnComponent } from './coturn/index.js';
import { hostsComponent } from './hosts/index.js';
import { jicofoComponent } from './jicofo/index.js';
import { tlsComponent } from './tls/index.js';
import { nginxComponent } from './nginx/index.js';
import { prosodyComponent } from './prosody/index.js';
import type {
  AccountStore,
  Component,
  GeneratedFile,
  HostFacts,
  KernelSettingMinimum,
  PlannedCertificate,
  PlannedDirectory,
  PlannedService,
  RosterSubscription,
  XmppAccount,
} from './types.js';
import { videobridgeComponent } from './videobridge/index.js';
import { webComponent } from './web/index.js';

export const COMPONENTS: readonly Component[] = [
  prosodyComponent,
  jicofoComponent,
  videobridgeComponent,
  webComponent,
  nginxComponent,
  coturnComponent,
  hostsComponent,
  tlsComponent,
];

/** The plans of all components, merged: what the apply step carries out. */
export interface ServerPlan {
  /** Every file, sorted by path. */
  files: GeneratedFile[];
  /** In component order: the order they are restarted in. */
  services: PlannedService[];
  accounts: XmppAccount[];
  /** prosody's account store; set whenever `accounts` is not empty. */
  accountStore?: AccountStore;
  directories: PlannedDirectory[];
  keyReaders: string[];
  /** In component order: the order they are made in. */
  certificates: PlannedCertificate[];
  packageFiles: string[];
  /** Made after the accounts (a roster belongs to an account). */
  rosterSubscriptions: RosterSubscription[];
  /** Checked, never set: the apply step warns about lower values. */
  kernelSettings: KernelSettingMinimum[];
  /**
   * Accounts an earlier run made that this plan no longer has (a removed bridge, a renamed
   * convener): deleted from prosody's store. Filled by the apply step from the previous plan.
   */
  retiredAccounts: XmppAccount[];
  /** The one unit (systemd target, OpenRC service) that starts what this plan runs, enabled at boot. */
  serverUnit: string;
  /** The distribution it was planned for: the apply step takes its commands (CA store, renewal) from it. */
  distribution: DistributionLayout;
}

/** The unit of a main server: it starts every service (overlays/systemd, overlays/debian-openrc, overlays/gentoo-openrc). */
export const SERVER_UNIT = 'jitsi-meet-server';

export function emptyPlan(serverUnit: string, distribution: DistributionLayout): ServerPlan {
  return { files: [], services: [], accounts: [], directories: [], keyReaders: [], certificates: [], packageFiles: [], rosterSubscriptions: [], kernelSettings: [], retiredAccounts: [], serverUnit, distribution };
}

/**
 * Plans every component and merges the plans. Two components claiming one path (or one
 * service) is a bug in the list, never something to resolve by order, so it throws.
 */
export function planServer(config: MasterConfig, facts: HostFacts, components: readonly Component[] = COMPONENTS): ServerPlan {
  const fileOwner = new Map<string, string>();
  const serviceOwner = new Map<string, string>();
  const plan = emptyPlan(SERVER_UNIT, facts.distribution);
  for (const component of components) {
    const part = component.plan(config, facts);
    for (const file of part.files) {
      if (!file.path.startsWith('/')) throw new Error(`component ${component.name} produced a relative path: ${file.path}`);
      const previous = fileOwner.get(file.path);
      if (previous) throw new Error(`components ${previous} and ${component.name} both produce ${file.path}`);
      fileOwner.set(file.path, component.name);
      plan.files.push(file);
    }
    for (const service of part.services ?? []) {
      const previous = serviceOwner.get(service.name);
      if (previous) throw new Error(`components ${previous} and ${component.name} both run service ${service.name}`);
      serviceOwner.set(service.name, component.name);
      plan.services.push(service);
    }
    plan.accounts.push(...(part.accounts ?? []));
    plan.directories.push(...(part.directories ?? []));
    plan.keyReaders.push(...(part.keyReaders ?? []));
    plan.certificates.push(...(part.certificates ?? []));
    plan.packageFiles.push(...(part.packageFiles ?? []));
    plan.rosterSubscriptions.push(...(part.rosterSubscriptions ?? []));
    plan.kernelSettings.push(...(part.kernelSettings ?? []));
    if (part.accountStore) plan.accountStore = part.accountStore;
  }
  if ((plan.accounts.length > 0 || plan.rosterSubscriptions.length > 0) && !plan.accountStore) {
    throw new Error('components plan XMPP accounts or rosters, but none is the XMPP server');
  }
  plan.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return plan;
}

/** Every file of every component, sorted by path. */
export function generateAll(config: MasterConfig, facts: HostFacts): GeneratedFile[] {
  return planServer(config, facts).files;
}
