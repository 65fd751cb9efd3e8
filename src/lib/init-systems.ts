/**
 * The init systems an image boots. Shared by the builder, the boot helper, the release tools
 * and the configurator inside the image, so it lives here rather than in the image module.
 */
export const INIT_SYSTEMS = ['systemd', 'openrc'] as const;
export type InitSystem = (typeof INIT_SYSTEMS)[number];
