#!/usr/bin/env bash
# Prints the path of a cached tarball holding a clean Debian 12 (bookworm) minbase root,
# creating it with debootstrap on first use. The root includes systemd only so that the
# binaries a real server has (systemd-notify, systemd-analyze) exist; systemd is not run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_dir="${FERRY_PACKAGING_CACHE:-$here/cache}"
suite=bookworm
include=systemd
tarball="$cache_dir/debian-$suite-minbase-$include.tar.gz"

# Same mirror apt on this machine is configured with, so it works where apt works.
apt_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(grep -hE "^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+[[:space:]]+$suite[[:space:]]" \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}' | head -n1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi

if ! command -v debootstrap >/dev/null; then
  echo "debian-root: installing debootstrap" >&2
  apt-get install -y debootstrap >&2
fi

mkdir -p "$cache_dir"
work="$(mktemp -d "$cache_dir/bootstrap.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mirror="$(apt_mirror)"
echo "debian-root: debootstrap $suite from $mirror (first run only)" >&2
start=$(date +%s)
debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >&2
# Package caches are not part of a clean installed system.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar -C "$work/root" --numeric-owner -czf "$work/root.tar.gz" .
mv "$work/root.tar.gz" "$tarball"
echo "debian-root: created $tarball in $(( $(date +%s) - start ))s" >&2
echo "$tarball"
