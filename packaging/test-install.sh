#!/usr/bin/env bash
# Install test for the Debian packages (npm run test:package). Needs root (chroot, mounts).
#
# Builds both packages and a newer hub build, installs them with dpkg -i into a fresh
# Debian 12 root (debootstrap, cached under packaging/cache/), starts the hub and the agent
# inside it as their units say (User=, EnvironmentFile=, WorkingDirectory=, ExecStart=),
# enrolls the agent, checks health and the agent online, upgrades the hub and checks state
# survived, then removes and purges. systemd is not running in the root: the test plays its
# part (user switch, environment, notify socket, SIGTERM on stop).
#
# Environment: FERRY_TEST_HTTP_PORT (28420), FERRY_TEST_GRPC_PORT (28421),
# FERRY_TEST_KEEP=1 keeps the work directory, FERRY_TEST_SKIP_BUILD=1 reuses packaging/dist.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
http_port="${FERRY_TEST_HTTP_PORT:-28420}"
grpc_port="${FERRY_TEST_GRPC_PORT:-28421}"
base="http://127.0.0.1:$http_port/api/v1"
test_started=$(date +%s)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "  ok   $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL $*"; }
check() { # check NAME COMMAND...
  local name="$1"; shift
  if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi
}
phase() { echo "== $* ($(( $(date +%s) - test_started ))s)"; }
finish() {
  echo "package test: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

[ "$(id -u)" = 0 ] || { echo "test-install.sh: needs root (chroot, mount)"; failed=1; finish; }

work="$(mktemp -d "${TMPDIR:-/tmp}/ferry-pkgtest.XXXXXX")"
root="$work/root"
pids=()
mounts=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  # Anything still running inside the root (a child the test did not start directly).
  if [ -d "$root/proc" ]; then
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
  fi
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null; done
  if [ "${FERRY_TEST_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ------------------------------------------------------------------------------------
version="$(cd "$repo" && node -p 'require("./package.json").version')"
upgrade_version="$version+upgradetest1"
dist="$here/dist"
if [ "${FERRY_TEST_SKIP_BUILD:-}" = 1 ] && [ -f "$dist/ferry-hub_${version}_amd64.deb" ]; then
  phase "reusing packages in $dist"
else
  phase "building packages"
  t=$(date +%s)
  if ! bash "$here/build.sh" --compression gzip; then fail "npm run package builds both packages"; finish; fi
  echo "   build: $(( $(date +%s) - t ))s"
fi
hub_deb="$dist/ferry-hub_${version}_amd64.deb"
agent_deb="$dist/ferry-agent_${version}_amd64.deb"
check "hub package exists" test -f "$hub_deb"
check "agent package exists" test -f "$agent_deb"
[ -f "$hub_deb" ] && [ -f "$agent_deb" ] || finish
t=$(date +%s)
# The newer hub build for the upgrade, written outside packaging/dist.
if ! bash "$here/build.sh" --compression gzip --only ferry-hub --version-suffix +upgradetest1 --out "$work/upgrade" >/dev/null 2>"$work/upgrade-build.log"; then
  cat "$work/upgrade-build.log"
  fail "newer hub package builds"
fi
echo "   upgrade build: $(( $(date +%s) - t ))s"
hub_deb_new="$work/upgrade/ferry-hub_${upgrade_version}_amd64.deb"

# --- package contents ---------------------------------------------------------------------------
phase "inspecting packages"
for deb in "$hub_deb" "$agent_deb"; do
  name="$(dpkg-deb -f "$deb" Package)"
  dpkg-deb -c "$deb" | awk '{print $6}' >"$work/$name.files"
  check "$name: no test, TypeScript or dev files" \
    bash -c "! grep -E '/(test|tests|__tests__)/|\.test\.|\.spec\.|\.ts$|/node_modules/(typescript|vitest|eslint|tsx|esbuild|@types)/' '$work/$name.files'"
  check "$name: ships the Node.js runtime" grep -qx "./opt/$name/node/bin/node" "$work/$name.files"
  check "$name: ships compiled JavaScript" grep -qE "^\./opt/$name/dist/.*\.js$" "$work/$name.files"
  check "$name: CLI on the PATH" grep -qx "./usr/bin/$name" "$work/$name.files"
  check "$name: systemd unit" grep -qx "./lib/systemd/system/$name.service" "$work/$name.files"
  check "$name: env file is a conffile" bash -c "dpkg-deb -I '$deb' conffiles | grep -qx '/etc/$name/$name.env'"
  check "$name: Depends lists only base libraries and tools" \
    bash -c "dpkg-deb -f '$deb' Depends | grep -q 'libc6' && ! dpkg-deb -f '$deb' Depends | grep -qi 'nodejs'"
  for s in postinst prerm postrm; do
    check "$name: $s is valid sh" bash -c "dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./$s | sh -n"
  done
done
ls -l "$hub_deb" "$agent_deb" | awk '{printf "   %s %d bytes\n", $9, $5}'

# --- a fresh Debian root ------------------------------------------------------------------------
phase "preparing a clean Debian 12 root"
t=$(date +%s)
tarball="$(bash "$here/debian-root.sh")" || { fail "debootstrap a Debian 12 root"; finish; }
mkdir -p "$root"
tar -C "$root" -xzf "$tarball" || { fail "unpack the Debian root"; finish; }
echo "   root ready: $(( $(date +%s) - t ))s"
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --bind /dev "$root/dev" && mounts+=("$root/dev")
mount -t sysfs sysfs "$root/sys" && mounts+=("$root/sys")
mkdir -p "$root/run/ferry-test"
mkdir -p "$root/tmp/pkgs" && cp "$hub_deb" "$agent_deb" "$root/tmp/pkgs/"
[ -f "$hub_deb_new" ] && cp "$hub_deb_new" "$root/tmp/pkgs/"
inroot() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# --- install ------------------------------------------------------------------------------------
phase "installing with dpkg -i"
t=$(date +%s)
if inroot DEBIAN_FRONTEND=noninteractive dpkg -i "/tmp/pkgs/$(basename "$hub_deb")" "/tmp/pkgs/$(basename "$agent_deb")" \
    </dev/null >"$work/install.log" 2>&1; then
  pass "dpkg -i installs both packages without systemd running"
else
  fail "dpkg -i installs both packages without systemd running"; cat "$work/install.log"; finish
fi
echo "   install: $(( $(date +%s) - t ))s"
check "first install prints where the admin key is" grep -q '/var/lib/ferry-hub/admin.key' "$work/install.log"
check "first install prints the API URL" grep -q "http://127.0.0.1:8420/api/v1" "$work/install.log"
for name in ferry-hub ferry-agent; do
  check "$name: system user exists" inroot getent passwd "$name"
  check "$name: user has no login shell" bash -c "chroot '$root' getent passwd $name | grep -q ':/usr/sbin/nologin$'"
  check "$name: state dir 0750 owned by the user" \
    bash -c "[ \"\$(chroot '$root' stat -c '%a %U' /var/lib/$name)\" = '750 $name' ]"
  check "$name: env file 0640 root:$name" \
    bash -c "[ \"\$(chroot '$root' stat -c '%a %U %G' /etc/$name/$name.env)\" = '640 root $name' ]"
  check "$name: systemd-analyze verify passes" inroot systemd-analyze verify "/lib/systemd/system/$name.service"
done
check "ferry-hub --version on the PATH prints $version" bash -c "[ \"\$(chroot '$root' /usr/bin/env -i PATH=/usr/bin:/bin ferry-hub --version 2>/dev/null)\" = '$version' ]"
check "ferry-hub.service enabled on install" test -L "$root/etc/systemd/system/multi-user.target.wants/ferry-hub.service"
check "ferry-agent.service not enabled before enrollment" test ! -e "$root/etc/systemd/system/multi-user.target.wants/ferry-agent.service"

# The admin moves the hub to test ports: this also makes the conffile locally modified,
# which the upgrade must keep.
sed -i -E "s/^FERRY_HTTP_PORT=.*/FERRY_HTTP_PORT=$http_port/; s/^FERRY_GRPC_PORT=.*/FERRY_GRPC_PORT=$grpc_port/" \
  "$root/etc/ferry-hub/ferry-hub.env"

# --- running units as systemd would --------------------------------------------------------------
unit_value() { # unit_value UNIT KEY -> last value of KEY= in [Service]
  awk -v key="$2" '
    /^\[/ { section = $0 }
    section == "[Service]" && index($0, key "=") == 1 { value = substr($0, length(key) + 2) }
    END { print value }' "$root/lib/systemd/system/$1.service"
}
notify_log="$work/notify.log"
: >"$notify_log"
if command -v python3 >/dev/null; then
  python3 "$here/notify-listener.py" "$root/run/ferry-test/notify.sock" "$notify_log" &
  pids+=($!)
  for _ in $(seq 1 50); do [ -S "$root/run/ferry-test/notify.sock" ] && break; sleep 0.1; done
fi
declare -A unit_pid
start_unit() { # start_unit NAME -> runs ExecStart in the background
  local name="$1" user env_file wd exec_start umask_value
  user="$(unit_value "$name" User)"
  env_file="$(unit_value "$name" EnvironmentFile)"
  wd="$(unit_value "$name" WorkingDirectory)"
  exec_start="$(unit_value "$name" ExecStart)"
  umask_value="$(unit_value "$name" UMask)"
  local envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    "HOME=$(chroot "$root" getent passwd "$user" | cut -d: -f6)" "USER=$user" "LOGNAME=$user"
    SHELL=/usr/sbin/nologin)
  if [ "$(unit_value "$name" Type)" = notify ]; then envs+=(NOTIFY_SOCKET=/run/ferry-test/notify.sock); fi
  while IFS= read -r line; do envs+=("$line"); done \
    < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$root$env_file")
  # setpriv execs (no fork), so the recorded PID is the service's main process, as for systemd.
  chroot "$root" /usr/bin/setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
    /usr/bin/env -i "${envs[@]}" /bin/sh -c "umask ${umask_value:-0022} && cd '$wd' && exec $exec_start" \
    >>"$work/$name.log" 2>&1 &
  unit_pid[$name]=$!
  pids+=($!)
}
stop_unit() { # stop_unit NAME -> SIGTERM, wait up to TimeoutStopSec; succeeds if it exited in time
  local name="$1" pid="${unit_pid[$1]:-}" limit i
  [ -n "$pid" ] || return 1
  limit="$(unit_value "$name" TimeoutStopSec)"; limit="${limit:-90}"
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; unit_pid[$name]=""; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  unit_pid[$name]=""
  return 1
}
running() { local pid="${unit_pid[$1]:-}"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
wait_healthy() { # wait_healthy SECONDS
  local i
  for ((i = 0; i < $1 * 5; i++)); do
    [ "$(http_code "$base/health")" = 200 ] && return 0
    running ferry-hub || return 1
    sleep 0.2
  done
  return 1
}
admin_key() { tr -d '\n' <"$root/var/lib/ferry-hub/admin.key"; }
agents_json() { curl -s --max-time 5 -H "Authorization: Bearer $(admin_key)" "$base/agents?limit=100"; }
agent_status() { # agent_status ID -> prints its status
  agents_json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const body = JSON.parse(s); const list = Array.isArray(body) ? body : body.data ?? [];
      const a = list.find((x) => x.id === process.argv[1]); console.log(a ? a.status : "absent");
    });' "$1"
}
agent_ids() {
  agents_json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const body = JSON.parse(s); const list = Array.isArray(body) ? body : body.data ?? [];
      for (const a of list) console.log(a.id);
    });'
}
listed() { agent_ids | grep -qx "$1"; }
wait_online() { # wait_online ID SECONDS
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    [ "$(agent_status "$1")" = online ] && return 0
    sleep 0.5
  done
  return 1
}

phase "starting the hub from its unit"
start_unit ferry-hub
hub_timeout="$(unit_value ferry-hub TimeoutStartSec)"
if wait_healthy "${hub_timeout:-90}"; then pass "hub answers GET /api/v1/health with 200"
else fail "hub answers GET /api/v1/health with 200"; tail -n 30 "$work/ferry-hub.log"; finish; fi
if command -v python3 >/dev/null; then
  for _ in $(seq 1 20); do grep -q '^READY=1' "$notify_log" && break; sleep 0.25; done
  check "hub reports READY=1 to the notify socket (Type=notify)" grep -q '^READY=1' "$notify_log"
fi
check "first start wrote admin.key 0600 owned by ferry-hub" \
  bash -c "[ \"\$(chroot '$root' stat -c '%a %U' /var/lib/ferry-hub/admin.key)\" = '600 ferry-hub' ]"
check "admin key authenticates GET /api/v1/agents" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $(admin_key)' '$base/agents')\" = 200 ]"
check "no admin key, no agents list (401)" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$base/agents')\" = 401 ]"
key_before="$(admin_key | sha256sum)"

phase "enrolling the agent"
ids_before="$(agent_ids)"
token="$(curl -s --max-time 10 -X POST "$base/agents/enrollment-tokens" \
  -H "Authorization: Bearer $(admin_key)" -H 'Content-Type: application/json' \
  -d '{"auto_approve":true,"max_uses":1,"expires_in_seconds":3600}' \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).token??"")}catch{console.log("")}})')"
if [ -n "$token" ]; then pass "enrollment token from the API"; else fail "enrollment token from the API"; fi
# As the admin types it: root, no --state-dir (the command drops to the service user and
# uses the state directory from the env file).
if inroot ferry-agent enroll --hub "127.0.0.1:$grpc_port" --token "$token" >"$work/enroll.log" 2>&1; then
  pass "ferry-agent enroll succeeds"
else
  fail "ferry-agent enroll succeeds"; cat "$work/enroll.log"
fi
check "enrollment wrote into the state directory" bash -c "[ -n \"\$(ls -A '$root/var/lib/ferry-agent')\" ]"
check "enrollment files belong to ferry-agent" \
  bash -c "[ -z \"\$(chroot '$root' find /var/lib/ferry-agent ! -user ferry-agent)\" ]"

phase "starting the agent from its unit"
start_unit ferry-agent
new_id=""
for _ in $(seq 1 60); do
  new_id="$(comm -13 <(echo "$ids_before" | sort) <(agent_ids | sort) | head -n1)"
  [ -n "$new_id" ] && break
  sleep 0.5
done
if [ -n "$new_id" ]; then pass "enrolled agent is listed ($new_id)"; else fail "enrolled agent is listed"; fi
if [ -n "$new_id" ] && wait_online "$new_id" 60; then pass "agent is online"
else fail "agent is online"; tail -n 30 "$work/ferry-agent.log"; fi

phase "stopping (SIGTERM, as systemctl stop)"
check "agent stops on SIGTERM within TimeoutStopSec" stop_unit ferry-agent
check "hub stops on SIGTERM within TimeoutStopSec" stop_unit ferry-hub

phase "upgrading the hub to $upgrade_version"
if [ -f "$hub_deb_new" ] && inroot DEBIAN_FRONTEND=noninteractive dpkg -i "/tmp/pkgs/$(basename "$hub_deb_new")" \
    </dev/null >"$work/upgrade.log" 2>&1; then
  pass "dpkg -i upgrades the hub"
else
  fail "dpkg -i upgrades the hub"; cat "$work/upgrade.log" 2>/dev/null
fi
check "installed hub version is $upgrade_version" \
  bash -c "[ \"\$(chroot '$root' dpkg-query -W -f='\${Version}' ferry-hub)\" = '$upgrade_version' ]"
# The build suffix is the Debian revision only; the application keeps its package.json version.
check "upgraded ferry-hub --version runs" bash -c "[ \"\$(chroot '$root' /usr/bin/env -i PATH=/usr/bin:/bin ferry-hub --version 2>/dev/null)\" = '$version' ]"
check "upgrade keeps the modified conffile" grep -qx "FERRY_HTTP_PORT=$http_port" "$root/etc/ferry-hub/ferry-hub.env"
check "upgrade does not print the first-install message" bash -c "! grep -q 'admin.key' '$work/upgrade.log'"
check "upgrade keeps the admin key" bash -c "[ \"\$(tr -d '\n' <'$root/var/lib/ferry-hub/admin.key' | sha256sum)\" = '$key_before' ]"
start_unit ferry-hub
if wait_healthy "${hub_timeout:-90}"; then pass "upgraded hub is healthy"; else fail "upgraded hub is healthy"; tail -n 30 "$work/ferry-hub.log"; fi
check "same admin key still authenticates" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $(admin_key)' '$base/agents')\" = 200 ]"
if [ -n "$new_id" ]; then
  check "enrolled agent still listed after upgrade" listed "$new_id"
  start_unit ferry-agent
  if wait_online "$new_id" 60; then pass "agent online again after the hub upgrade"
  else fail "agent online again after the hub upgrade"; tail -n 30 "$work/ferry-agent.log"; fi
  stop_unit ferry-agent
fi
stop_unit ferry-hub

phase "remove and purge"
if inroot dpkg --remove ferry-hub >"$work/remove.log" 2>&1; then pass "dpkg --remove ferry-hub"; else fail "dpkg --remove ferry-hub"; cat "$work/remove.log"; fi
check "remove keeps the hub state" test -f "$root/var/lib/ferry-hub/admin.key"
check "remove keeps the hub configuration" test -f "$root/etc/ferry-hub/ferry-hub.env"
check "remove takes the CLI off the PATH" test ! -e "$root/usr/bin/ferry-hub"
if inroot dpkg --purge ferry-hub ferry-agent >"$work/purge.log" 2>&1; then pass "dpkg --purge both"; else fail "dpkg --purge both"; cat "$work/purge.log"; fi
for name in ferry-hub ferry-agent; do
  check "$name: purge deletes the state directory" test ! -e "$root/var/lib/$name"
  check "$name: purge deletes the configuration" test ! -e "$root/etc/$name"
  check "$name: purge deletes /opt/$name" test ! -e "$root/opt/$name"
  check "$name: purge deletes the user" bash -c "! chroot '$root' getent passwd $name"
done
check "purge removes the enable symlink" test ! -e "$root/etc/systemd/system/multi-user.target.wants/ferry-hub.service"

echo "   whole test: $(( $(date +%s) - test_started ))s"
finish
