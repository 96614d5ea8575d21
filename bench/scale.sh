#!/usr/bin/env bash
# Big-cluster benchmark (issue 22): one run measures, side by side,
#   (a) the raw download of exactly the lists `mcp-doctor doctor` reads, with curl following continue tokens
#       at the tool's page size (500, as kubectl);
#   (b) `mcp-doctor doctor` (release build) against the same server;
#   (c) the kubectl-forking sequence of mcp-runtime's Go doctor: one kubectl call per check, as surveyed in
#       shared/reference/mcp-runtime-doctor.md (nodes listed at least five times);
#   (d) `mcp-doctor analyze` of a recording of (b)'s run: what the vendor replaying a support bundle pays;
# and prints wall time, CPU (user+sys), peak RSS, requests and bytes, with the ratios b/a and c/b, as Markdown.
#
#   bench/scale.sh [--scale S] [--instructions]           synthetic cluster (S=1: 5,000 nodes, 150,000 pods,
#                                                          10,000 services, 20,000 events, 1,000 MCPServers)
#                                                          served by tests/fixture-apiserver on 127.0.0.1
#   bench/scale.sh --kubeconfig K [--load] [--scale S]    a real API server; --load first creates the
#                                                          synthetic objects there (server-side apply;
#                                                          tests/bench_load.rs does it against the fixture
#                                                          API server, `fixture-apiserver --writable`)
#
# With --kubeconfig, every phase goes through an nginx on 127.0.0.1 (bench/counting_proxy.py) whose access log
# counts the requests and bytes of each, as the fixture server's log does; --direct leaves it out (and the
# counts of (b) and (c) with it).
# --runs N (default 3) measures (a), (b) and (c) N times, interleaved, and reports each figure's median, so one
# run disturbed by the machine does not decide a ratio.
# --fixture DIR reuses a cluster generate.py wrote before instead of generating one. MCP_DOCTOR_BIN measures
# another mcp-doctor binary (e.g. an older build) in (b); --skip-kubectl leaves (c) out (--load still uses kubectl).
# --instructions also counts the instructions of (b) under valgrind (callgrind), which, unlike times, do not
# depend on what else the machine is doing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
scale=1
kubeconfig=""
load=false
instructions=false
page=500
fixture_dir=""
skip_kubectl=false
runs=3
direct=false
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift 2 ;;
    --kubeconfig) kubeconfig=$2; shift 2 ;;
    --load) load=true; shift ;;
    --instructions) instructions=true; shift ;;
    --fixture) fixture_dir=$2; shift 2 ;;
    --skip-kubectl) skip_kubectl=true; shift ;;
    --runs) runs=$2; shift 2 ;;
    --direct) direct=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "bench/scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/scale.sh: $tool is missing (apt-get install curl python3 time)" >&2; exit 2; }
done

target=${CARGO_TARGET_DIR:-$repo/target}
# The fixture API server is needed only when no kubeconfig is given.
if [ -z "${MCP_DOCTOR_BIN:-}" ] || { [ -z "$kubeconfig" ] && [ ! -x "$target/release/fixture-apiserver" ]; }; then
  (cd "$repo" && cargo build --release --quiet -p mcp-doctor -p fixture-apiserver)
fi
doctor=${MCP_DOCTOR_BIN:-$target/release/mcp-doctor}
work=$(mktemp -d /tmp/mcp-doctor-bench.XXXXXX)
server_pid=""
proxy_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# kubectl for (c): Debian's kubernetes-client package, unpacked here rather than installed (it would
# replace whatever kubectl the machine has). Falls back to the kubectl on PATH, and says so.
kubectl_bin=""
kubectl_note=""
kdir=${XDG_CACHE_HOME:-$HOME/.cache}/mcp-doctor-bench/kubernetes-client
if [ ! -x "$kdir/usr/bin/kubectl" ] && ! $skip_kubectl && command -v apt-get >/dev/null; then
  mkdir -p "$kdir"
  (cd "$work" && apt-get download kubernetes-client >/dev/null 2>&1 && dpkg-deb -x kubernetes-client_*.deb "$kdir") || true
fi
if [ -x "$kdir/usr/bin/kubectl" ]; then
  kubectl_bin=$kdir/usr/bin/kubectl
  kubectl_note="Debian kubernetes-client $("$kubectl_bin" version --client --short 2>/dev/null | sed 's/Client Version: //')"
elif command -v kubectl >/dev/null; then
  kubectl_bin=$(command -v kubectl)
  kubectl_note="kubectl on PATH ($kubectl_bin; Debian's kubernetes-client could not be fetched)"
fi
# Phase (c) runs when there is a kubectl and it is not left out; --load uses kubectl either way.
compare_kubectl=false
if [ -n "$kubectl_bin" ] && ! $skip_kubectl; then compare_kubectl=true; fi

log=$work/requests.log
fixture=""
if [ -n "$fixture_dir" ]; then
  fixture=$fixture_dir
elif [ -z "$kubeconfig" ] || $load; then
  fixture=$work/fixture
  echo "generating the synthetic cluster at scale $scale ..." >&2
  python3 "$here/generate.py" "$fixture" --scale "$scale" >"$work/generated.json"
fi
if [ -z "$kubeconfig" ]; then
  "$target/release/fixture-apiserver" "$fixture" --request-log "$log" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q '^KUBECONFIG=' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  kubeconfig=$(sed -n 's/^KUBECONFIG=//p' "$work/server.out")
  [ -n "$kubeconfig" ] || { echo "bench/scale.sh: the fixture API server did not start: $(cat "$work/server.err")" >&2; exit 1; }
elif $load; then
  [ -n "$kubectl_bin" ] || { echo "bench/scale.sh: --load needs kubectl" >&2; exit 2; }
  echo "loading the synthetic objects into $(kubectl --kubeconfig "$kubeconfig" config view --minify -o jsonpath='{.clusters[0].cluster.server}') ..." >&2
  python3 "$here/load.py" "$fixture" "$work/load"
  # Full resource names (no short names from discovery), no client-side validation (the server validates
  # what it is applied; skipping it spares each call a download of the OpenAPI schema), and polling rather than
  # `kubectl wait` (no watch): the few things asked of the server.
  crd=customresourcedefinitions.apiextensions.k8s.io/mcpservers.mcpruntime.org
  if ! "$kubectl_bin" --kubeconfig "$kubeconfig" get "$crd" >/dev/null 2>&1; then
    "$kubectl_bin" --kubeconfig "$kubeconfig" apply --server-side --validate=false --field-manager=mcp-doctor-bench -f "$work/load/crd.json" >/dev/null
    for _ in $(seq 1 60); do
      established=$("$kubectl_bin" --kubeconfig "$kubeconfig" get "$crd" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')
      [ "$established" = True ] && break
      sleep 1
    done
    [ "$established" = True ] || { echo "bench/scale.sh: the MCPServer CRD was not Established within 60 s" >&2; exit 1; }
  fi
  for f in "$work"/load/[0-9]*.json; do
    "$kubectl_bin" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts --validate=false --field-manager=mcp-doctor-bench -f "$f" >/dev/null
  done
fi

# A real server's requests and bytes: counted by an nginx in front of it (its access log, read like the fixture
# server's), unless --direct or no nginx. Every phase goes through it alike.
server_note=""
nginx_bin=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -z "$server_pid" ] && ! $direct && [ -n "$nginx_bin" ]; then
  "${kubectl_bin:-kubectl}" config view --kubeconfig "$kubeconfig" --raw --minify -o json >"$work/upstream-kubeconfig.json"
  proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 "$here/counting_proxy.py" "$work/upstream-kubeconfig.json" "$work/proxy" "$proxy_port"
  "$nginx_bin" -p "$work/proxy" -e "$work/proxy/error.log" -c "$work/proxy/nginx.conf" >"$work/proxy/nginx.out" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null && break
    sleep 0.1
  done
  upstream=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clusters"][0]["cluster"]["server"])' "$work/upstream-kubeconfig.json")
  kubeconfig=$work/proxy/kubeconfig
  "${kubectl_bin:-kubectl}" --kubeconfig "$kubeconfig" get --raw /version >/dev/null 2>"$work/proxy/check.err" || {
    echo "bench/scale.sh: the counting nginx in front of $upstream does not reach it: $(cat "$work/proxy/check.err") $(cat "$work/proxy/error.log" 2>/dev/null) (--direct skips it)" >&2
    exit 1
  }
  : >"$work/proxy/access.log"
  log=$work/proxy/access.log
  server_note=" (counted by an nginx on 127.0.0.1:$proxy_port in front of $upstream)"
elif [ -z "$server_pid" ]; then
  server_note=" (requests and bytes of (b) and (c) not counted: $($direct && echo "--direct" || echo "no nginx"))"
fi

env_file=$repo/fixtures/platform-healthy/config.env
doctor_env=(env MCP_DOCTOR_HTTP_PROBE=off MCP_DOCTOR_TLS_PROBE=false MCP_DOCTOR_SYSTEM_DNS=none CI=true NO_COLOR=1)
# The benchmark measures transfer and decoding, not the per-check time limit: listing every pod of a big
# cluster can take longer than the default 15 s, which would end the run early with `error`s.
timeout=300

# The fixture API server parses each List file on first use; do that before anything is measured.
if [ -n "$server_pid" ]; then
  kc_dir=$(dirname "$kubeconfig")
  for f in "$fixture"/cluster/*/_cluster.json "$fixture"/cluster/*/_all.json; do
    [ -f "$f" ] || continue
    api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiVersion"])' "$f")
    resource=$(basename "$(dirname "$f")")
    case "$api" in */*) prefix=/apis/$api ;; *) prefix=/api/$api ;; esac
    curl -s --max-time 300 --cacert "$kc_dir/ca.crt" -H "Authorization: Bearer fixture-token" -o /dev/null \
      "$(sed -n 's/^ *server: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$kubeconfig")$prefix/${resource%%.*}?limit=1" || true
  done
fi

# Which lists does the doctor read? One recorded run (unmeasured; it also warms the server's caches) says.
"${doctor_env[@]}" "$doctor" doctor --kubeconfig "$kubeconfig" --env-file "$env_file" --record "$work/record" \
  --timeout "$timeout" --format json --json "$work/warm.json" >/dev/null 2>&1 || true
python3 - "$work/record" >"$work/lists" <<'PY'
import json, os, sys
root = sys.argv[1]
base = os.path.join(root, "evidence", "kube", "list")
for resource in sorted(os.listdir(base)):
    for f in sorted(os.listdir(os.path.join(base, resource))):
        entry = json.load(open(os.path.join(base, resource, f)))
        if "ok" not in entry:
            continue
        listed = json.load(open(os.path.join(root, entry["ok"]["objects"])))
        api = listed["apiVersion"]
        prefix = "/api/" + api if "/" not in api else "/apis/" + api
        plural = resource.split(".")[0]
        scope = f[:-5]
        print(prefix + ("/" if scope in ("_cluster", "_all") else f"/namespaces/{scope}/") + plural)
PY

# curl's view of the kubeconfig: server, CA, and a token or a client certificate.
"${kubectl_bin:-$(command -v kubectl || echo kubectl)}" config view --kubeconfig "$kubeconfig" --raw --minify -o json >"$work/kubeconfig.json"
python3 "$here/curl_config.py" "$work/kubeconfig.json" "$work" >"$work/curl.config"
server=$(sed -n 's/^# server //p' "$work/curl.config")

now_ms() { date +%s%3N; }

# (a) the raw download.
cat >"$work/download.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
requests=0; bytes=0
while read -r path; do
  token=""
  while :; do
    url="$server\$path?limit=$page"
    [ -n "\$token" ] && url="\$url&continue=\$token"
    size=\$(curl -sS -K "$work/curl.config" -o "$work/page.json" -w '%{size_download}' "\$url")
    requests=\$((requests + 1)); bytes=\$((bytes + size))
    token=\$(head -c 4096 "$work/page.json" | grep -o '"continue":"[^"]*"' | head -1 | sed 's/"continue":"//; s/"\$//' || true)
    [ -n "\$token" ] || break
  done
done <"$work/lists"
echo "\$requests \$bytes" >"$work/download.count"
SH
chmod +x "$work/download.sh"

# (c) one kubectl call per check of mcp-runtime's Go doctor (read-only rows; probe pods are left out).
cat >"$work/kubectl.sh" <<SH
#!/usr/bin/env bash
k() { "$kubectl_bin" --kubeconfig "$kubeconfig" --cache-dir "$work/kube-cache" "\$@" >/dev/null 2>&1 || true; }
k --request-timeout=8s get nodes -o json                      # S01 nodes ready
k top nodes; k get nodes -o custom-columns=N:.metadata.name,C:.status.allocatable.cpu,M:.status.allocatable.memory  # S02
k get nodes -o json                                           # S03 node runtime
k get nodes -o json                                           # S04 node arch
k get runtimeclass -o json; k get mcpservers -A -o json       # S05
k get storageclass -o json; k get nodes -o json               # S06
k get ingressclass traefik -o json                            # S07
k -n kube-system get deploy traefik -o json                   # S08
k -n kube-system get svc traefik -o json                      # S09
k -n kube-system get svc traefik -o json; k -n kube-system get deploy traefik -o json  # S10
k -n cert-manager get deploy cert-manager cert-manager-cainjector cert-manager-webhook -o json  # S13
k get clusterissuer letsencrypt-prod -o json                  # S14
k get nodes -o json                                           # distribution detection
k get namespace mcp-servers -o json                           # D01
k -n mcp-servers get serviceaccount default -o json           # D02
k get crd mcpservers.mcpruntime.org -o json                   # D05
k -n mcp-runtime get deploy mcp-runtime-operator-controller-manager -o json  # D06
k get ingress -A -o json                                      # D15
k -n registry get svc registry -o json                        # D19
k -n registry get ingress registry -o json                    # D20
k get mcpservers -A -o json                                   # D22
k get pods -A -o jsonpath='{range .items[*]}{.spec.containers[*].image}{"\n"}{end}'  # D28
k -n mcp-sentinel get deploy -o json; k -n mcp-sentinel get pods -o json  # D33
k -n mcp-sentinel get pods -o json                            # D34
k get pvc -A -o json                                          # D39
k get nodes -o json                                           # D41 image arch
k get deploy -A -o json                                       # D48
k top nodes; k get nodes -o custom-columns=N:.metadata.name,C:.status.allocatable.cpu  # D54 = S02
k get nodes -o json; k get nodes -o json                      # D55, D56 = S03, S04
k get runtimeclass -o json; k get mcpservers -A -o json       # D57 = S05
k get storageclass -o json; k get pvc -A --field-selector=status.phase=Pending -o json  # D58
k get pods -A --field-selector=status.phase=Pending -o json   # D59
SH
chmod +x "$work/kubectl.sh"

# Runs one measured phase: wall, user+sys and peak RSS from GNU time; requests and bytes from the fixture
# server's log over the phase's time window (on a real server: what the phase itself counted, if anything).
# Each figure is appended to a space-separated list per phase; `median` reduces it.
declare -A wall cpu rss reqs bytes
measure() {
  local name=$1; shift
  sleep 0.5
  local from; from=$(now_ms)
  /usr/bin/time -v -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || true
  local to; to=$(now_ms)
  sleep 0.5
  wall[$name]+=" $(awk -v ms=$((to - from)) 'BEGIN{printf "%.2f", ms/1000}')"
  cpu[$name]+=" $(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2f", u+s}' "$work/$name.time")"
  rss[$name]+=" $(awk -F': ' '/Maximum resident/{printf "%.1f", $2/1024}' "$work/$name.time")"
  if [ -f "$log" ]; then
    local n b
    # The fixture server logs unix ms, nginx unix seconds with ms as decimals.
    read -r n b < <(awk -v a="$from" -v b="$to" '{t=(index($1, ".") ? $1*1000 : $1)} t>=a && t<=b {n++; s+=$NF} END{print n+0, s+0}' "$log")
    reqs[$name]+=" $n"; bytes[$name]+=" $b"
  else
    reqs[$name]+=" n/a"; bytes[$name]+=" n/a"
  fi
}
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{v[NR]=$1} END{ if (NR==0) print "n/a"; else if (v[1]=="n/a") print "n/a"; else if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2 }'; }

phases="(a) curl, (b) mcp-doctor, (d) analyze"
if $compare_kubectl; then phases="(a) curl, (b) mcp-doctor, (c) kubectl per check, (d) analyze"; fi
echo "measuring $phases, $runs time(s) each ..." >&2
for _ in $(seq 1 "$runs"); do
  measure a "$work/download.sh"
  if [ ! -f "$log" ]; then
    read -r n b <"$work/download.count"
    reqs[a]=" $n"; bytes[a]=" $b"
  fi
  measure b "${doctor_env[@]}" "$doctor" doctor --kubeconfig "$kubeconfig" --env-file "$env_file" --timeout "$timeout" \
    --format json --json "$work/report.json"
  if $compare_kubectl; then
    measure c "$work/kubectl.sh"
  fi
  measure d "${doctor_env[@]}" "$doctor" analyze "$work/record" --format json --json "$work/analyzed.json"
done
for phase in a b c d; do
  for figure in wall cpu rss reqs bytes; do
    declare -n series=$figure
    [ -n "${series[$phase]:-}" ] && series[$phase]=$(median "${series[$phase]}")
    unset -n series
  done
done

mb() { awk -v b="$1" 'BEGIN{ if (b=="n/a") print b; else printf "%.1f", b/1048576 }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN{ if (y+0==0) print "n/a"; else printf "%.2f", x/y }'; }
listed=${bytes[a]}
echo
if [ -f "$work/generated.json" ]; then
  cluster="Scale $scale: $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counts"]; print(", ".join(f"{v:,} {k}" for k,v in c.items()))' "$work/generated.json")"
elif [ -n "$fixture_dir" ]; then
  cluster="The cluster in $fixture_dir"
else
  cluster="The cluster already on the server"
fi
echo "$cluster, page size $page, $(nproc) CPUs, server ${server}${server_note}; medians of $runs run(s)."
echo "The lists the doctor reads: $(wc -l <"$work/lists") (kind, scope) pairs, $(mb "$listed") MB."
echo "Checks of (b) that ended in error: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(", ".join(c["id"] + " (" + c["message"][:80] + ")" for c in r["checks"] if c["status"] == "error") or "none")' "$work/report.json")."
echo
echo "| run | wall s | CPU s (user+sys) | peak RSS MB | requests | MB received |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| (a) curl, the doctor's lists | ${wall[a]} | ${cpu[a]} | ${rss[a]} | ${reqs[a]} | $(mb "${bytes[a]}") |"
echo "| (b) mcp-doctor doctor | ${wall[b]} | ${cpu[b]} | ${rss[b]} | ${reqs[b]} | $(mb "${bytes[b]}") |"
if $compare_kubectl; then
  echo "| (c) kubectl per check ($kubectl_note) | ${wall[c]} | ${cpu[c]} | ${rss[c]} | ${reqs[c]} | $(mb "${bytes[c]}") |"
fi
echo "| (d) mcp-doctor analyze of (b)'s recording ($(du -sm "$work/record" | cut -f1) MB) | ${wall[d]} | ${cpu[d]} | ${rss[d]} | 0 | 0 |"
echo
echo "- b/a wall: $(ratio "${wall[b]}" "${wall[a]}") (target <= 1.5)"
echo "- peak RSS of (b) / bytes listed: $(ratio "$(awk -v r="${rss[b]}" 'BEGIN{print r*1048576}')" "$listed") (target <= 2); of (d): $(ratio "$(awk -v r="${rss[d]}" 'BEGIN{print r*1048576}')" "$listed")"
if $compare_kubectl; then
  echo "- c/b wall: $(ratio "${wall[c]}" "${wall[b]}") (target >= 10); c/b CPU: $(ratio "${cpu[c]}" "${cpu[b]}")"
fi
if $instructions; then
  command -v valgrind >/dev/null || { echo "bench/scale.sh: --instructions needs valgrind" >&2; exit 2; }
  "${doctor_env[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$doctor" doctor --kubeconfig "$kubeconfig" \
    --env-file "$env_file" --timeout 600 --format json --json "$work/callgrind.json" >/dev/null 2>"$work/callgrind.err" || true
  echo "- instructions of (b) (callgrind): $(sed -n 's/.*Collected : //p' "$work/callgrind.err")"
fi
