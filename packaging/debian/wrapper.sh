#!/bin/sh
# @NAME@ command for admins. Runs the bundled Node.js on the bundled entry point with the
# service's configuration and, when called as root, as the service's user, so files it
# writes in the state directory stay usable by the service.
set -e
if [ -r /etc/@NAME@/@NAME@.env ]; then
  set -a
  . /etc/@NAME@/@NAME@.env
  set +a
fi
node=/opt/@NAME@/node/bin/node
entry=/opt/@NAME@/bin/@NAME@.js
if [ "$(id -u)" = 0 ] && getent passwd @NAME@ >/dev/null 2>&1; then
  cd /var/lib/@NAME@ 2>/dev/null || cd /
  exec /usr/sbin/runuser -u @NAME@ -- "$node" "$entry" "$@"
fi
exec "$node" "$entry" "$@"
