#!/usr/bin/env bash
# mpirun's "ssh" for namespace hosts: netns_rsh.sh [ssh options] HOST COMMAND...
# runs COMMAND (a shell command line, as ssh would) inside the namespace whose
# eth0 has address HOST (10.77.0.{i+1} -> tplm-h{i}), with its own hostname.
while [[ $# -gt 0 && $1 == -* ]]; do shift; done
host=$1
shift
case $host in
  10.77.0.*) ns=tplm-h$((${host##*.} - 1)) ;;
  tplm-h*) ns=$host ;;
  *) echo "netns_rsh.sh: unknown host $host (expected 10.77.0.N)" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" unshare --uts /bin/sh -c "hostname $ns; $*"
