#!/bin/sh
# The Docker image's entrypoint (and a systemd unit's ExecStart, if you like).
#   horde-entrypoint [serve [OPTIONS]]   migrate the database (one node at a time), then serve
#   horde-entrypoint COMMAND [ARGS]      any other `horde` command, e.g. `user create --username alice`
set -e
if [ "$#" -eq 0 ]; then
  set -- serve
fi
if [ "$1" = "serve" ]; then
  horde db upgrade
fi
exec horde "$@"
