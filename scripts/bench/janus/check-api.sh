#!/usr/bin/env bash
# Check, with curl, the Janus HTTP API requests docs/bench-janus.md documents
# that need no WebRTC peer: info, create session, attach the VideoRoom plugin,
# list rooms, create and destroy a room, join as publisher without jsep (event
# on the long poll), keepalive, leave, detach, destroy session.
# (scripts/bench/janus/smoke.mjs checks the rest with real werift peers.)
#
# usage: scripts/bench/janus/check-api.sh [URL] [NETNS]
#   URL    default http://10.231.0.1:8088/janus (Janus from run-janus.sh)
#   NETNS  namespace to run curl in, default cc-sub ("" = this one)
# Every request has a time limit; prints each step and "check-api: ok".
set -euo pipefail

URL=${1:-http://10.231.0.1:8088/janus}
NETNS=${2-cc-sub}
n=0

curl_ns() {
  if [ -n "$NETNS" ]; then ip netns exec "$NETNS" curl -sS -m 35 "$@"; else curl -sS -m 35 "$@"; fi
}
post() { # path json -> reply
  curl_ns -H 'Content-Type: application/json' -d "$2" "$URL$1"
}
fail() { echo "check-api: FAIL: $*" >&2; exit 1; }
step() { n=$((n + 1)); echo "check-api: $n. $*" >&2; }
expect() { # json jq-filter what
  echo "$1" | jq -e "$2" >/dev/null || fail "$3: $1"
}

step "GET /info"
r=$(curl_ns "$URL/info")
expect "$r" '.janus == "server_info" and (.plugins | has("janus.plugin.videoroom"))' "info"

step "create session"
r=$(post "" '{"janus":"create","transaction":"c1"}')
expect "$r" '.janus == "success"' "create"
S=$(echo "$r" | jq .data.id)

step "attach janus.plugin.videoroom (session $S)"
r=$(post "/$S" '{"janus":"attach","plugin":"janus.plugin.videoroom","transaction":"c2"}')
expect "$r" '.janus == "success"' "attach"
H=$(echo "$r" | jq .data.id)

step "list rooms: room 1234 from the config (synchronous reply)"
r=$(post "/$S/$H" '{"janus":"message","transaction":"c3","body":{"request":"list"}}')
expect "$r" '.plugindata.data.list | map(select(.room == 1234 and .bitrate == 2500000 and .videocodec == "vp8" and .audiocodec == "opus" and .max_publishers == 1)) | length == 1' "list"

step "create room 4321 (not permanent) and see it listed"
r=$(post "/$S/$H" '{"janus":"message","transaction":"c4","body":{"request":"create","room":4321,"permanent":false,"description":"check-api","publishers":1,"bitrate":2500000,"videocodec":"vp8","audiocodec":"opus","notify_joining":false}}')
expect "$r" '.plugindata.data.videoroom == "created" and .plugindata.data.room == 4321' "create room"
r=$(post "/$S/$H" '{"janus":"message","transaction":"c5","body":{"request":"exists","room":4321}}')
expect "$r" '.plugindata.data.exists == true' "exists"

step "join room 1234 as publisher without jsep: ack, then 'joined' on the long poll"
r=$(post "/$S/$H" '{"janus":"message","transaction":"c6","body":{"request":"join","ptype":"publisher","room":1234,"display":"check-api"}}')
expect "$r" '.janus == "ack" and .transaction == "c6"' "join ack"
r=$(curl_ns "$URL/$S?maxev=1&rid=$RANDOM")
expect "$r" '.janus == "event" and .transaction == "c6" and .plugindata.data.videoroom == "joined" and (.plugindata.data.id | type == "number")' "joined event"
echo "check-api:    publisher id $(echo "$r" | jq .plugindata.data.id)" >&2

step "keepalive"
r=$(post "/$S" '{"janus":"keepalive","transaction":"c7"}')
expect "$r" '.janus == "ack"' "keepalive"

step "leave, destroy room 4321, detach, destroy session"
r=$(post "/$S/$H" '{"janus":"message","transaction":"c8","body":{"request":"leave"}}')
expect "$r" '.janus == "ack"' "leave"
r=$(post "/$S/$H" '{"janus":"message","transaction":"c9","body":{"request":"destroy","room":4321,"permanent":false}}')
expect "$r" '.plugindata.data.videoroom == "destroyed"' "destroy room"
r=$(post "/$S/$H" '{"janus":"detach","transaction":"c10"}')
expect "$r" '.janus == "success"' "detach"
r=$(post "/$S" '{"janus":"destroy","transaction":"c11"}')
expect "$r" '.janus == "success"' "destroy"

echo "check-api: ok"
