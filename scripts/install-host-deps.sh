#!/usr/bin/env bash
# Installs the Debian packages the builder and its test suite call. Safe to run again.
set -euo pipefail
packages=(
  mmdebstrap arch-test uidmap        # rootfs bootstrap
  systemd-container util-linux       # systemd-nspawn, nsenter
  tar xz-utils zstd                  # packing and compression
  libcap2-bin                        # setcap/getcap: tests that file capabilities survive packing
  gnupg openssl ca-certificates      # signature interop tests, TLS material
  iproute2                           # network namespaces for booted test containers
  lua5.4 nginx-light coturn tmux     # config checks (luac -p, nginx -t), TURN client, terminal tests
  prosody                            # generator tests: prosodyctl check config, a real prosody in a test netns
  pebble certbot                     # local ACME server and client for the Let's Encrypt path
  openjdk-17-jdk-headless            # javac/jar/keytool for the Jitsi stand-in daemons (test/helpers/jitsi-standin)
  qemu-system-x86 qemu-utils         # the admin-path test boots a VM whose PID 1 is systemd (TCG)
  qemu-user-static binfmt-support    # arm64 images built and booted under qemu-user emulation
  openssh-client e2fsprogs socat     # ssh into that VM, its ext4 root (mkfs.ext4 -d), guestfwd to loopback
)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Debian starts these services on install; the tests start their own instances.
for service in nginx coturn prosody; do
  if [ -x "/etc/init.d/$service" ]; then "/etc/init.d/$service" stop >/dev/null 2>&1 || true; fi
done
# qemu-user-static registers its interpreters with binfmt_misc when binfmt-support's service
# runs; on a host whose PID 1 is not systemd (a build container) nothing mounts or enables it.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64
