# shellcheck shell=bash
# Sourced by every script: where tradechat keeps its tools, build and local data. Nothing here has side effects
# beyond exporting variables, so it is safe to source from an interactive shell too:
#   source scripts/env.sh && cargo leptos watch
TRADECHAT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TRADECHAT_ROOT
# Tools and the build live outside the clone, so a fresh clone on the same machine reuses them.
export TRADECHAT_CACHE="${TRADECHAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tradechat}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TRADECHAT_CACHE/target}"

# DuckDB: the prebuilt shared library from npm (compiling DuckDB's C++ takes ~17 minutes on 2 cores).
TRADECHAT_DUCKDB_NPM_VERSION="1.5.6-r.1"
case "$(uname -m)" in
  x86_64 | amd64) TRADECHAT_DUCKDB_NPM_ARCH="linux-x64" ;;
  aarch64 | arm64) TRADECHAT_DUCKDB_NPM_ARCH="linux-arm64" ;;
  *) TRADECHAT_DUCKDB_NPM_ARCH="unsupported-$(uname -m)" ;;
esac
export TRADECHAT_DUCKDB_NPM_VERSION TRADECHAT_DUCKDB_NPM_ARCH
TRADECHAT_DUCKDB_PREFIX="$TRADECHAT_CACHE/duckdb-$TRADECHAT_DUCKDB_NPM_VERSION"
export DUCKDB_LIB_DIR="${DUCKDB_LIB_DIR:-$TRADECHAT_DUCKDB_PREFIX/node_modules/@duckdb/node-bindings-$TRADECHAT_DUCKDB_NPM_ARCH}"

# npm-installed build tools (wasm-opt from binaryen) and cargo-installed ones.
export TRADECHAT_NODE_TOOLS="$TRADECHAT_CACHE/node-tools"
export PATH="$TRADECHAT_NODE_TOOLS/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# A real SMTP server for the tests of sign-in mail (aiosmtpd from PyPI, in a virtualenv of its own).
export TRADECHAT_AIOSMTPD_VERSION="1.4.6"
export TRADECHAT_SMTPD_PYTHON="${TRADECHAT_SMTPD_PYTHON:-$TRADECHAT_CACHE/aiosmtpd-$TRADECHAT_AIOSMTPD_VERSION/bin/python}"

# Local state: demo data, the private Postgres clusters, the generated auth secret. Ignored by git.
export TRADECHAT_DATA="${TRADECHAT_DATA:-$TRADECHAT_ROOT/data}"

# The browser the end-to-end tests drive.
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
