#!/usr/bin/env bash
# Installs what building and testing Snapkeep needs, from the package registries only, and
# only what is missing. Usage: ensure-tools.sh build|test|cassandra
#   build      wasm32 target, cargo-leptos (no_downloads), wasm-bindgen-cli (= Cargo.lock's
#              wasm-bindgen), npm packages of end2end/ (binaryen's wasm-opt, Playwright)
#   test       build + Debian's Chromium + versitygw (the S3 server the backup tests use,
#              built from the Go module proxy)
#   cassandra  checks Java 17+ and Maven (the dev node's Cassandra comes from Maven Central)
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO_LEPTOS_VERSION=0.3.10
VERSITYGW_VERSION=v1.8.0
say() { printf '==> %s\n' "$*" >&2; }

need_system_pkg() { # need_system_pkg COMMAND DEBIAN_PACKAGE...
  local cmd=$1; shift
  if command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* with apt-get"
    if [ ! -f /tmp/.snapkeep-apt-updated ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch /tmp/.snapkeep-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "missing: $cmd. Run this once, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y $*" >&2
    exit 1
  fi
}

ensure_build() {
  command -v cargo >/dev/null || { echo "missing: cargo (install Rust with rustup)" >&2; exit 1; }
  command -v npm >/dev/null || { echo "missing: npm (install Node.js 20 or newer)" >&2; exit 1; }
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes, once)"
    cargo install cargo-leptos@"$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  local wb
  wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb" ]; then
    say "installing wasm-bindgen-cli $wb (matches Cargo.lock)"
    # Without --locked: with it, resolution asks for a crate version the registry lacks.
    cargo install wasm-bindgen-cli --version "=$wb"
  fi
  if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -x end2end/node_modules/.bin/playwright ] \
     || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing end2end npm packages (wasm-opt from binaryen, Playwright)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_browser() {
  need_system_pkg /usr/bin/chromium chromium
}

ensure_versitygw() {
  # A real S3-compatible server (Apache-2.0) for the off-node backup tests, on loopback.
  local bin
  bin="$(go env GOPATH 2>/dev/null)/bin/versitygw"
  command -v go >/dev/null || need_system_pkg go golang-go
  # `go install` of a module version prints no version of its own: a stamp file records it.
  local stamp="$bin.$VERSITYGW_VERSION"
  if [ ! -x "$bin" ] || [ ! -f "$stamp" ]; then
    say "building versitygw $VERSITYGW_VERSION from the Go module proxy (about 4 minutes, once)"
    (cd /tmp && GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
    touch "$stamp"
  fi
}

ensure_cassandra() {
  need_system_pkg java openjdk-17-jre-headless
  need_system_pkg mvn maven
}

case "${1:-build}" in
  build) ensure_build ;;
  test) ensure_build; ensure_browser; ensure_cassandra; ensure_versitygw ;;
  cassandra) ensure_cassandra ;;
  *) echo "usage: $0 build|test|cassandra" >&2; exit 2 ;;
esac
