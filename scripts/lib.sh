# shellcheck shell=bash
# Helpers shared by scripts/run and scripts/test. Sourced after env.sh.

# A free TCP port on loopback, starting the search at $1.
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 200))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  echo "no free port from $1" >&2
  return 1
}

# Waits until $1 answers HTTP 200, or until the process $2 dies, or $3 seconds pass.
wait_for_http() {
  local url="$1" pid="$2" deadline=$((SECONDS + ${3:-120}))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "server exited before answering $url" >&2; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for $url" >&2; return 1; }
    sleep 0.3
  done
}

# The server binary cargo-leptos builds (debug profile, shared with the tests).
server_bin() { echo "$CARGO_TARGET_DIR/debug/tradechat"; }

# The site folder cargo-leptos builds into, as Leptos.toml names it (relative to the repository root).
leptos_site_root() {
  awk -F' *= *' '$1 == "site-root" { gsub(/"/, "", $2); print $2; exit }' "$TRADECHAT_ROOT/Leptos.toml"
}
# The JS/WASM bundle's name (Leptos.toml's output-name).
leptos_output_name() {
  awk -F' *= *' '$1 == "output-name" { gsub(/"/, "", $2); print $2; exit }' "$TRADECHAT_ROOT/Leptos.toml"
}
