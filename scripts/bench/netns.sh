#!/usr/bin/env bash
# The benchmark's private network: two network namespaces joined by one veth
# pair, with addresses from a private test range that exist only inside them.
#
#   cc-srv  (servers: classcast, Janus; floor sender)   veth cc-srv0  10.231.0.1/24
#   cc-sub  (load generator: WHIP publisher and all     veth cc-sub0  10.231.0.2/24
#            WHEP subscribers; floor receivers)
#
# The subscribers' own addresses: 10.232.0.0/16 is a `local` route in cc-sub
# (every address in it belongs to cc-sub without being listed on an
# interface, so `classcast-loadgen --sub-net 10.232.0.0/16` gives each
# subscriber its own IP on one shared socket) and is routed via 10.231.0.2
# from cc-srv.
#
# No default route, loopback up in each, nothing outside the two namespaces is
# touched (the veth ends are created directly inside them). Every benchmark
# packet stays between these two namespaces. Janus does not use loopback ICE
# candidates, which is why the side-by-side runs need this (docs/TESTING.md,
# section 5).
#
# usage: scripts/bench/netns.sh up|down|status
#   up      create (idempotent: an existing, complete setup is left as it is;
#           a partial one is removed and made again)
#   down    remove both namespaces (and with them the veth pair); idempotent
#   status  print the namespaces' addresses; exit 1 if not up
#
# Environment (defaults): CC_NS_SRV=cc-srv CC_NS_SUB=cc-sub
#   CC_SRV_ADDR=10.231.0.1 CC_SUB_ADDR=10.231.0.2 CC_NS_PREFIX=24
#   CC_SUB_NET=10.232.0.0/16
# Requires root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
set -euo pipefail

NS_SRV=${CC_NS_SRV:-cc-srv}
NS_SUB=${CC_NS_SUB:-cc-sub}
SRV_ADDR=${CC_SRV_ADDR:-10.231.0.1}
SUB_ADDR=${CC_SUB_ADDR:-10.231.0.2}
PREFIX=${CC_NS_PREFIX:-24}
SUB_NET=${CC_SUB_NET:-10.232.0.0/16}
IF_SRV=cc-srv0
IF_SUB=cc-sub0

die() { echo "netns.sh: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (ip netns); run as root"
  command -v ip >/dev/null 2>&1 || die "needs iproute2 (ip)"
}

ns_exists() { [ -e "/var/run/netns/$1" ]; }

has_addr() { # ns if addr
  ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null | grep -q " $3/"
}

is_up() {
  ns_exists "$NS_SRV" && ns_exists "$NS_SUB" &&
    has_addr "$NS_SRV" "$IF_SRV" "$SRV_ADDR" &&
    has_addr "$NS_SUB" "$IF_SUB" "$SUB_ADDR" &&
    ip -n "$NS_SRV" link show dev "$IF_SRV" 2>/dev/null | grep -q 'state UP' &&
    ip -n "$NS_SUB" link show dev "$IF_SUB" 2>/dev/null | grep -q 'state UP' &&
    ip -n "$NS_SUB" route show table local 2>/dev/null | grep -q "^local $SUB_NET dev lo" &&
    ip -n "$NS_SRV" route show 2>/dev/null | grep -q "^$SUB_NET via $SUB_ADDR"
}

down() {
  local ns
  for ns in "$NS_SRV" "$NS_SUB"; do
    if ns_exists "$ns"; then
      # Anything still running in it keeps the namespace alive after `del`;
      # say so rather than kill processes that we may not have started.
      local pids
      pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ' || true)
      [ -z "$pids" ] || echo "netns.sh: warning: processes still in $ns: $pids" >&2
      ip netns del "$ns"
    fi
  done
}

up() {
  if is_up; then
    echo "netns.sh: $NS_SRV ($SRV_ADDR) and $NS_SUB ($SUB_ADDR) already up"
    return 0
  fi
  down
  ip netns add "$NS_SRV"
  ip netns add "$NS_SUB"
  ip -n "$NS_SRV" link set lo up
  ip -n "$NS_SUB" link set lo up
  # Both ends are created straight inside their namespaces.
  ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_SUB" netns "$NS_SUB"
  ip -n "$NS_SRV" addr add "$SRV_ADDR/$PREFIX" dev "$IF_SRV"
  ip -n "$NS_SUB" addr add "$SUB_ADDR/$PREFIX" dev "$IF_SUB"
  # Room for bursts of a 2000-subscriber fan-out without qdisc drops.
  ip -n "$NS_SRV" link set dev "$IF_SRV" txqueuelen 10000 up
  ip -n "$NS_SUB" link set dev "$IF_SUB" txqueuelen 10000 up
  ip -n "$NS_SUB" route add local "$SUB_NET" dev lo
  ip -n "$NS_SRV" route add "$SUB_NET" via "$SUB_ADDR" dev "$IF_SRV"
  # Per-namespace sysctls only: a wide local port range for thousands of
  # subscriber sockets in cc-sub.
  ip netns exec "$NS_SUB" sysctl -q -w net.ipv4.ip_local_port_range="10000 60999" || true
  # Wait (bounded) until the link has carrier on both ends.
  for _ in $(seq 1 50); do
    if is_up; then
      echo "netns.sh: up: $NS_SRV $SRV_ADDR/$PREFIX <-> $NS_SUB $SUB_ADDR/$PREFIX"
      return 0
    fi
    sleep 0.1
  done
  die "veth pair did not come up"
}

status() {
  if is_up; then
    echo "$NS_SRV $IF_SRV $SRV_ADDR/$PREFIX"
    echo "$NS_SUB $IF_SUB $SUB_ADDR/$PREFIX (subscribers: $SUB_NET)"
  else
    echo "netns.sh: not up" >&2
    return 1
  fi
}

need_root
case "${1:-}" in
  up) up ;;
  down) down; echo "netns.sh: down" ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
