# Real hosts on one machine: K network namespaces tplm-h0..tplm-h{K-1}, each
# with one veth (eth0, 10.77.0.{i+1}/24) plugged into a bridge that lives in a
# namespace of its own (tplm-sw, the switch). The 10.77.0.0/24 addresses exist
# only inside these namespaces; the root namespace gets no address and no route.
# Source it (bash). Needs root / CAP_NET_ADMIN, else netns_require skips (77).
#
#   netns_require            skip unless namespaces can be made here
#   netns_up K               (removes stale ones first; cleans up on every exit)
#   netns_mpirun ARGS...     mpirun inside tplm-h0 over the K hosts, TCP only
#   netns_link_down I        take host I's cable out (its switch port down)

NETNS_SUBNET=10.77.0.0/24
NETNS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_K=0

netns_require() {
  command -v ip >/dev/null 2>&1 || skip "iproute2 'ip' not found"
  [[ $(id -u) -eq 0 ]] || skip "network namespaces need root (CAP_NET_ADMIN); running as uid $(id -u)"
  ip netns add tplm-probe$$ 2>/dev/null || skip "cannot create a network namespace here (no CAP_NET_ADMIN?)"
  ip netns del tplm-probe$$
  # One namespace test at a time on this machine: they share the names.
  exec 9>/tmp/tplm-netns.lock
  flock -w 300 9 || skip "another namespace test held /tmp/tplm-netns.lock for 300 s"
}

# Kills every process inside our namespaces, then deletes them.
netns_down() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tplm-(h[0-9]+|sw)$'); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}

netns_wait_reachable() {
  local ip=$1 try err
  for try in 1 2 3 4 5 6 7 8 9 10; do
    err=$(ip netns exec tplm-h0 timeout 1 bash -c "exec 3<>/dev/tcp/$ip/9" 2>&1) && return 0
    [[ $err == *refused* ]] && return 0
    sleep 0.5
  done
  fail "tplm-h0 cannot reach $ip"
}

netns_up() {
  local k=$1 i
  NETNS_K=$k
  netns_down  # stale ones from a killed earlier run
  trap 'netns_down' EXIT
  trap 'netns_down; exit 130' INT
  trap 'netns_down; exit 143' TERM
  ip netns add tplm-sw || fail "ip netns add tplm-sw"
  ip -n tplm-sw link add br0 type bridge
  ip -n tplm-sw link set br0 up
  for ((i = 0; i < k; i++)); do
    ip netns add "tplm-h$i" || fail "ip netns add tplm-h$i"
    ip link add "tplm-p$i" netns tplm-sw type veth peer name eth0 netns "tplm-h$i" ||
      fail "veth for tplm-h$i"
    ip -n tplm-sw link set "tplm-p$i" master br0 up
    ip -n "tplm-h$i" link set lo up
    ip -n "tplm-h$i" addr add "10.77.0.$((i + 1))/24" dev eth0
    ip -n "tplm-h$i" link set eth0 up
  done
  NETNS_HOSTFILE=$(mktemp /tmp/tplm-hosts.XXXXXX)
  for ((i = 0; i < k; i++)); do echo "10.77.0.$((i + 1)) slots=1"; done >"$NETNS_HOSTFILE"
  # Wait until h0 reaches every host (bridge ports need a moment to forward).
  # No ping here: a TCP connect to a closed port answers "refused" once the
  # host is reachable, and hangs while it is not.
  for ((i = 1; i < k; i++)); do netns_wait_reachable "10.77.0.$((i + 1))"; done
}

# mpirun runs in tplm-h0 and starts its daemons on the other hosts through
# netns_rsh.sh (ip netns exec instead of ssh). Bytes go over TCP on the
# 10.77.0.0/24 veths only: no shared memory (btl tcp,self), no loopback.
# --bind-to none: every namespace "host" is the same machine, and each host's
# daemon would bind its first rank to core 0, so all ranks would share one
# core and every exchange would wait a scheduler time slice (~8 ms per 4 KB
# all-reduce instead of ~60 us; see docs/multi-host.md).
# Keepalive 2 s + 3 x 1 s: a daemon behind a cut link is declared lost in ~5 s
# (default 300 s), so mpirun and the cut-off daemon end instead of waiting.
netns_mpirun() {
  timeout "${NETNS_MPIRUN_TIMEOUT:-120}" ip netns exec tplm-h0 unshare --uts sh -c 'hostname tplm-h0; exec "$@"' sh \
    mpirun --hostfile "$NETNS_HOSTFILE" -np "$NETNS_K" \
    --mca plm_rsh_agent "$NETNS_LIB_DIR/netns_rsh.sh" \
    --mca btl tcp,self --mca btl_tcp_if_include "$NETNS_SUBNET" \
    --mca oob_tcp_if_include "$NETNS_SUBNET" --bind-to none \
    --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 \
    --mca oob_tcp_keepalive_probes 3 "$@"
}

netns_link_down() { ip -n tplm-sw link set "tplm-p$1" down; }
