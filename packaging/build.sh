#!/usr/bin/env bash
# Builds packaging/dist/ferry-hub_<version>_amd64.deb and ferry-agent_<version>_amd64.deb.
# Each carries the compiled JavaScript, the production node_modules (native addons as built
# on this machine, which must be Debian 12 amd64 like the target) and this machine's Node.js.
#
#   bash packaging/build.sh [--version-suffix SUFFIX] [--out DIR] [--compression xz|gzip]
#                           [--only ferry-hub|ferry-agent]
#
# xz (default) gives the smallest packages; gzip builds several times faster (the install
# test uses it).
# SUFFIX is appended to the package.json version (e.g. +build2), so a rebuild can be
# installed as an upgrade. FERRY_PACKAGE_VERSION_SUFFIX does the same.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/dist"
suffix="${FERRY_PACKAGE_VERSION_SUFFIX:-}"
compression=xz
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version-suffix) suffix="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --compression) compression="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
log() { echo "package: $*" >&2; }
die() { echo "package: error: $*" >&2; exit 1; }

[ "$(dpkg --print-architecture)" = amd64 ] || die "build on amd64 (packages are Architecture: amd64)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
node_bin="$(readlink -f "$(command -v node)")"
[ -x "$node_bin" ] || die "node not found"
node_version="$("$node_bin" --version)"
# The runtime shipped must satisfy package.json engines (>=20.19) and be the one the native
# addons in node_modules were built for (same NODE_MODULE_VERSION).
"$node_bin" -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) { console.error("node " + process.version + " is older than 20.19"); process.exit(1); }
' || die "unsupported Node.js runtime $node_version"
ldd "$node_bin" | grep -q 'libnode' && die "$node_bin links libnode.so (Debian's nodejs); use a self-contained node build"

version="$(cd "$repo" && "$node_bin" -p 'require("./package.json").version')$suffix"
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "invalid Debian version '$version'"

work="$(mktemp -d "${TMPDIR:-/tmp}/ferry-package.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- compile -------------------------------------------------------------------------------
# Into the staging area, not the shared dist/: the bin scripts prefer dist/ when it exists,
# and a stale one would shadow the sources for everyone running from the tree.
log "compiling TypeScript (tsc -p tsconfig.build.json)"
app="$work/app"
mkdir -p "$app"
# FERRY_PACKAGE_ALLOW_TYPE_ERRORS=1 packages what tsc emits despite type errors (for trying
# the packaging while the tree is mid-edit; never for a release).
if ! (cd "$repo" && "$node_bin" node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$app/dist" >&2); then
  [ "${FERRY_PACKAGE_ALLOW_TYPE_ERRORS:-}" = 1 ] || die "tsc failed"
  log "warning: type errors ignored (FERRY_PACKAGE_ALLOW_TYPE_ERRORS=1)"
fi
# Non-TypeScript files next to the sources (.proto, .sql, .json, static files) are loaded
# at run time relative to the module, so they go to the same place under dist/.
for dir in hub/src node-agent/src common/src proto; do
  [ -d "$repo/$dir" ] || continue
  (cd "$repo" && find "$dir" -type f ! -name '*.ts' ! -name '*.tsx' ! -name '*.map' ! -name '*.sh' ! -name '*.md' \
      ! -path '*/__tests__/*' ! -name '*.test.*' -print0) \
    | while IFS= read -r -d '' f; do
        install -D -m 0644 "$repo/$f" "$app/dist/$f"
      done
done
find "$app/dist" -name '*.map' -delete
find "$app/dist" \( -name '*.test.js' -o -name '*.spec.js' \) -delete
if [ -d "$repo/proto" ]; then
  (cd "$repo" && find proto -type f -name '*.proto' -print0) \
    | while IFS= read -r -d '' f; do install -D -m 0644 "$repo/$f" "$app/$f"; done
fi

# --- production dependencies ---------------------------------------------------------------
# Copy the installed tree (its native addons are compiled for this Node and this Debian) and
# prune it to production dependencies offline, instead of npm ci, which would need the
# registry and a compiler.
log "staging production node_modules"
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
cp -a "$repo/node_modules" "$app/node_modules"
rm -rf "$app/node_modules/.cache" "$app/node_modules/.vite" "$app/node_modules/.vitest"
(cd "$app" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
  || die "npm prune failed"
# tsx only runs TypeScript sources; the package runs compiled dist/.
# Dropped from the staged package.json and pruned again (npm uninstall would ask the registry).
if [ -d "$app/node_modules/tsx" ]; then
  (cd "$app" && "$node_bin" -e '
    const fs = require("fs");
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
    delete pkg.dependencies.tsx;
    delete pkg.devDependencies;
    fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
    delete lock.packages[""].dependencies.tsx;
    delete lock.packages[""].devDependencies;
    fs.writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
  ') >&2 || die "could not drop tsx"
  (cd "$app" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
    || die "npm prune (without tsx) failed"
fi
nm="$app/node_modules"
# better-sqlite3: keep the compiled addon, drop its C sources and build intermediates.
if [ -d "$nm/better-sqlite3" ]; then
  [ -f "$nm/better-sqlite3/build/Release/better_sqlite3.node" ] || die "better-sqlite3 is not built"
  find "$nm/better-sqlite3/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$nm/better-sqlite3/build/Release" -mindepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
  rm -rf "$nm/better-sqlite3/deps" "$nm/better-sqlite3/src"
fi
# oracledb ships prebuilt addons for every platform; the package needs linux-x64 only.
if [ -d "$nm/oracledb/build/Release" ]; then
  find "$nm/oracledb/build/Release" -type f ! -name '*linux-x64*' -delete
fi
# @types/* are declarations only, pulled in as dependencies of runtime packages (protobufjs).
rm -rf "$nm/.bin" "$nm/@types"
# Documentation, type declarations, source maps and test folders are not needed to run.
find "$nm" -type d \( -name test -o -name tests -o -name __tests__ -o -name spec -o -name specs \
  -o -name example -o -name examples \
  -o -name .github -o -name docs \) -prune -exec rm -rf {} +
find "$nm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
  -o -name '*.md' -o -name '*.markdown' -o -name '*.ts' -o -name '*.tsbuildinfo' -o -name '.npmignore' \
  -o -name '.eslintrc*' -o -name '.prettierrc*' -o -name '.editorconfig' -o -name '*.gyp' -o -name '*.gypi' \
  -o -name Makefile -o -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.o' -o -name '*.a' \
  -o -name '*.test.js' -o -name '*.spec.js' -o -name '*.test.mjs' -o -name '*.test.cjs' \) \
  ! -iname 'LICENSE*' -delete

# Prove the pruned tree still loads: import every production dependency with the runtime
# that will ship.
(cd "$app" && "$node_bin" --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { createRequire } from "node:module";
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  const require = createRequire(process.cwd() + "/");
  const failed = [];
  // Some dependencies (@peculiar/x509 via tsyringe) need the polyfill the app loads first.
  try { await import(require.resolve("reflect-metadata")); } catch { /* not installed */ }
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    try { await import(require.resolve(dep)); }
    catch (e) {
      try { await import(dep); } catch (e2) { failed.push(dep + ": " + (e2.message ?? e2)); }
    }
  }
  if (failed.length) { console.error(failed.join("\n")); process.exit(1); }
') || die "a production dependency does not load from the pruned tree"

# Modules read the version from package.json two or three levels up, which under dist/ is
# dist/package.json.
cp "$app/package.json" "$app/dist/package.json"

# --- Debian packages -------------------------------------------------------------------------
# Shared-library dependencies of the runtime and the native addons, computed rather than
# guessed. Debian 12 has them all in its base system (libc6, libstdc++6, libgcc-s1).
shlibs_depends() {
  local d; d="$(mktemp -d "$work/shlibs.XXXXXX")"
  mkdir "$d/debian"
  printf 'Source: ferry\nMaintainer: x <x@example.org>\n\nPackage: ferry\nArchitecture: amd64\n' >"$d/debian/control"
  local args=()
  for f in "$@"; do args+=("-e$f"); done
  (cd "$d" && dpkg-shlibdeps -O "${args[@]}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}
addons=()
while IFS= read -r -d '' f; do addons+=("$f"); done < <(find "$nm" -name '*.node' -type f -print0)
if command -v dpkg-shlibdeps >/dev/null; then
  libdeps="$(shlibs_depends "$node_bin" "${addons[@]}")"
else
  libdeps="libc6 (>= 2.34), libgcc-s1 (>= 3.4), libstdc++6 (>= 11)"
fi
[ -n "$libdeps" ] || die "could not compute shared-library dependencies"
# passwd: useradd/userdel in the maintainer scripts; util-linux: runuser in the wrapper;
# init-system-helpers: deb-systemd-helper. All three are priority required in Debian 12.
depends="$libdeps, passwd, util-linux, init-system-helpers"

fill() { # fill TEMPLATE NAME DESCRIPTION ENABLE MESSAGE_FILE > OUT
  awk -v name="$2" -v desc="$3" -v enable="$4" -v msgfile="$5" '
    /@FIRST_INSTALL_MESSAGE@/ { while ((getline l < msgfile) > 0) print l; next }
    { gsub(/@NAME@/, name); gsub(/@DESCRIPTION@/, desc); gsub(/@ENABLE_ON_INSTALL@/, enable); print }
  ' "$1"
}

build_deb() { # build_deb NAME SUMMARY ENABLE MESSAGE_FILE DESCRIPTION
  local name="$1" summary="$2" enable="$3" msg="$4" long="$5"
  [ -z "$only" ] || [ "$only" = "$name" ] || return 0
  # The user's GECOS comment: useradd refuses ':' in it.
  local comment; comment="Ferry ${name#ferry-}"
  local root="$work/root-$name"
  log "staging $name $version"
  mkdir -p "$root/DEBIAN" "$root/opt/$name/bin" "$root/opt/$name/node/bin" "$root/usr/bin" \
    "$root/lib/systemd/system" "$root/etc/$name" "$root/usr/share/doc/$name"
  cp -a "$app/dist" "$app/node_modules" "$app/package.json" "$root/opt/$name/"
  [ -d "$app/proto" ] && cp -a "$app/proto" "$root/opt/$name/"
  # Both bin scripts: the hub starts its built-in agent from the same code.
  for b in ferry-hub ferry-agent; do
    [ -f "$repo/bin/$b.js" ] && install -m 0755 "$repo/bin/$b.js" "$root/opt/$name/bin/$b.js"
  done
  [ -f "$root/opt/$name/bin/$name.js" ] || die "bin/$name.js is missing"
  install -m 0755 "$node_bin" "$root/opt/$name/node/bin/node"
  # Debug symbols are 12 MB of the 95 MB binary and nothing uses them on an appliance.
  command -v strip >/dev/null && strip "$root/opt/$name/node/bin/node"
  for f in /usr/share/doc/nodejs/copyright /usr/share/doc/nodejs/LICENSE; do
    [ -f "$f" ] && install -m 0644 "$f" "$root/opt/$name/node/LICENSE" && break
  done
  fill "$here/debian/wrapper.sh" "$name" "" "" /dev/null >"$root/usr/bin/$name"
  chmod 0755 "$root/usr/bin/$name"
  install -m 0644 "$repo/systemd/$name.service" "$root/lib/systemd/system/$name.service"
  install -m 0644 "$here/debian/$name.env" "$root/etc/$name/$name.env"
  # The admin's install notes: the "Install on a server" section of the project README.
  awk '/^## Install on a server/{p=1} p&&/^## /&&!/^## Install on a server/{exit} p' "$here/../README.md" >"$root/usr/share/doc/$name/README.md"
  chmod 0644 "$root/usr/share/doc/$name/README.md"
  printf 'Ferry %s %s\nBundled third-party software keeps its own license, next to it under /opt/%s.\n' \
    "$name" "$version" "$name" >"$root/usr/share/doc/$name/copyright"
  echo "/etc/$name/$name.env" >"$root/DEBIAN/conffiles"
  for s in postinst prerm postrm; do
    fill "$here/debian/$s" "$name" "$comment" "$enable" "$msg" >"$root/DEBIAN/$s"
    chmod 0755 "$root/DEBIAN/$s"
  done
  local size; size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  cat >"$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: amd64
Maintainer: Ferry maintainers <ferry@localhost>
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Description: $summary
$(echo "$long" | fold -s -w 78 | sed 's/ *$//; s/^/ /')
 .
 Bundles Node.js $node_version and its production dependencies under /opt/$name.
CONTROL
  # Files owned by root, not by whoever builds.
  chmod -R u+rwX,go+rX,go-w "$root/opt/$name"
  mkdir -p "$out"
  dpkg-deb --root-owner-group "-Z$compression" -z6 --build "$root" "$out/${name}_${version}_amd64.deb" >/dev/null
  log "built $out/${name}_${version}_amd64.deb ($(du -h "$out/${name}_${version}_amd64.deb" | cut -f1), installed ${size} KiB)"
}

build_deb ferry-hub "Ferry hub: self-hosted data-mobility appliance" yes "$here/debian/hub-first-install.sh" \
  "REST API, scheduler, job engine and deduplicated repository for database migrations into PostgreSQL, backups, replication and pipelines. Node agents enroll over gRPC with mutual TLS; a built-in agent serves this machine."
build_deb ferry-agent "Ferry node agent" no "$here/debian/agent-first-install.sh" \
  "Agent installed next to source databases and hypervisor hosts. It dials out to the Ferry hub over gRPC with mutual TLS and does all reads and writes against databases and disks on this host."

log "done in $(( $(date +%s) - started ))s"
