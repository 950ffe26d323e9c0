#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers: Swift clients
# (python3-swiftclient, rclone), PyYAML (the compose file test), FTP clients (lftp, curl), FUSE (fuse3 + libfuse2 —
# never Debian's `fuse`, which conflicts with fuse3), PostgreSQL, nginx, load tools.
# Idempotent; needs root (or sudo).
set -euo pipefail
PKGS="python3-swiftclient python3-yaml rclone lftp curl openssl fuse3 libfuse2 rsync git postgresql nginx-light wrk hey vsftpd"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# Packages' own services (postgresql, nginx, vsftpd) must not grab ports: tests start their own.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
$SUDO rm -f /usr/sbin/policy-rc.d
