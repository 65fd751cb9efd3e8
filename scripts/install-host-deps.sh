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
  openssh-client e2fsprogs socat     # ssh into that VM, its ext4 root (mkfs.ext4 -d), guestfwd to loopback
)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Debian starts these services on install; the tests start their own instances.
for service in nginx coturn prosody; do
  if [ -x "/etc/init.d/$service" ]; then "/etc/init.d/$service" stop >/dev/null 2>&1 || true; fi
done
