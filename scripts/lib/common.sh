# Shared by scripts/test, scripts/demo and scripts/bench. Sourced, not run.
# Everything here is idempotent and quiet when there is nothing to do.

STOFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Build and test dependencies, all Debian packages. libcurl4-openssl-dev is
# for libcurl's headers only (the host loads libcurl at run time); OpenSSL is
# not ours any more (libcpp-httplib-dev still brings libssl-dev for itself).
STOFLOW_BUILD_PACKAGES=(
  build-essential cmake pkg-config clang-format
  libsqlite3-dev sqlite3 nlohmann-json3-dev libcurl4-openssl-dev zlib1g-dev
  libboost-test-dev libcpp-httplib-dev
  nodejs openssl ca-certificates shellcheck
)

# The real browsers of the end-to-end tests and the demo, and the NSS tools
# that make a fresh Firefox profile trust the fake marketplace's test CA.
STOFLOW_BROWSER_PACKAGES=(chromium firefox-esr libnss3-tools)

say() { printf '==> %s\n' "$*" >&2; }

ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "missing packages: ${missing[*]} (run as root, or install them with apt-get)"
    return 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# npm ci only when the lock file changed since the last install. Debian's
# nodejs needs its separate npm package; a nodejs build that bundles npm
# (as on these machines) conflicts with it, so npm is installed only if missing.
ensure_node_modules() {
  command -v npm >/dev/null 2>&1 || ensure_packages npm
  local stamp="$STOFLOW_ROOT/node_modules/.stoflow-lock-stamp"
  local want
  want="$(sha256sum "$STOFLOW_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  say "npm ci"
  (cd "$STOFLOW_ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
}

# configure_and_build DIR [cmake options...]
configure_and_build() {
  local dir="$1"
  shift
  cmake -S "$STOFLOW_ROOT" -B "$dir" -DSTOFLOW_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$(nproc)" >"$dir.build.log" 2>&1 || {
    # Compiler errors, and make's own ("No rule to make target ...").
    grep -E 'error:|\*\*\*' -A5 "$dir.build.log" | head -80
    return 1
  }
}
