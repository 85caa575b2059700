# Shared by the scripts of scripts/. Sourced, not run.
# Everything here is idempotent and quiet when there is nothing to do.

STOFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Build and test dependencies, all Debian packages. libcurl4-openssl-dev is
# for libcurl's headers only (the host loads libcurl at run time). cpp-httplib
# is not among them: its Debian source package is fetched (stoflow_cmake_deps;
# apt-get source needs dpkg-dev) and built without TLS or compression.
STOFLOW_BUILD_PACKAGES=(
  build-essential cmake pkg-config clang-format dpkg-dev
  libsqlite3-dev sqlite3 nlohmann-json3-dev libcurl4-openssl-dev zlib1g-dev
  libboost-test-dev
  nodejs openssl ca-certificates shellcheck zip unzip
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

# The CMake options naming the sources fetched for the build, one a line:
# cpp-httplib's, built without TLS or compression (cmake/httplib.cmake).
# Fetched the first time only.
stoflow_cmake_deps() {
  local httplib
  httplib="$(fetch_debian_source cpp-httplib)" || return 1
  printf '%s\n' "-DSTOFLOW_HTTPLIB_DIR=$httplib"
}

# configure_and_build DIR [cmake options...]
configure_and_build() {
  local dir="$1"
  shift
  local deps
  deps="$(stoflow_cmake_deps)" || return 1
  local deps_options
  mapfile -t deps_options <<<"$deps"
  cmake -S "$STOFLOW_ROOT" -B "$dir" -DSTOFLOW_WERROR=ON "${deps_options[@]}" "$@" \
    >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$(nproc)" >"$dir.build.log" 2>&1 || {
    # Compiler errors, and make's own ("No rule to make target ...").
    grep -E 'error:|\*\*\*' -A5 "$dir.build.log" | head -80
    return 1
  }
}

# Where fetch_debian_source unpacks source packages: the build area, git-ignored.
STOFLOW_DEPS_DIR="$STOFLOW_ROOT/build/deps"
# Ours: the deb-src twins of the system's Debian sources (ensure_deb_src_sources).
STOFLOW_DEB_SRC_FILE=/etc/apt/sources.list.d/stoflow-deb-src

# Prints each apt sources entry (FILE:N, a stanza of a .sources file or a line
# of a .list file) that gives binary packages from Debian's archive, as apt
# read them: the machine's own, never a host named here.
debian_deb_entries() {
  # shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
  apt-get indextargets --format '$(SOURCESENTRY)' 'Origin: Debian' 'Target-Of: deb' 2>/dev/null |
    grep -v "^$STOFLOW_DEB_SRC_FILE\." | sort -u
}

# Writes $STOFLOW_DEB_SRC_FILE.sources (.list) with a deb-src copy of every
# Debian entry found by debian_deb_entries: same URIs, suites, components
# and options (Signed-By included), so apt sees one archive, not two.
# Returns 1 when the system has no Debian entry at all.
ensure_deb_src_sources() {
  local entries
  entries="$(debian_deb_entries)"
  if [ -z "$entries" ]; then
    # A fresh image may have no index yet: apt only knows an origin once fetched.
    apt-get update -qq >/dev/null || true
    entries="$(debian_deb_entries)"
  fi
  [ -n "$entries" ] || return 1
  local stanzas="" lines="" entry file n
  while IFS= read -r entry; do
    file="${entry%:*}"
    n="${entry##*:}"
    case "$file" in
      *.sources)
        # Stanza n (stanzas are separated by blank lines), comments dropped,
        # its types made deb-src.
        stanzas+="$(awk -v n="$n" '
          /^[ \t]*#/ { next }
          /^[ \t]*$/ { seen = 0; next }
          { if (!seen) { seen = 1; count++ } }
          count == n && /^Types:/ { print "Types: deb-src"; next }
          count == n { print }' "$file")"$'\n\n'
        ;;
      *)
        lines+="$(sed -n "${n}s/^[[:space:]]*deb[[:space:]]/deb-src /p" "$file")"$'\n'
        ;;
    esac
  done <<<"$entries"
  write_if_changed "$STOFLOW_DEB_SRC_FILE.sources" "$stanzas"
  write_if_changed "$STOFLOW_DEB_SRC_FILE.list" "$lines"
}

# write_if_changed FILE TEXT: FILE holds TEXT (blank lines trimmed), or is
# removed when TEXT is blank.
write_if_changed() {
  local file="$1" text
  text="$(printf '%s' "$2" | sed -e '/./,$!d')"
  if [ -z "${text//[[:space:]]/}" ]; then
    rm -f "$file"
  elif [ ! -f "$file" ] || [ "$(cat "$file")" != "$text" ]; then
    printf '%s\n%s\n' "# deb-src copies of this machine's Debian entries, for apt-get source (written by StoFlow Companion's scripts; safe to delete)" "$text" >"$file"
  fi
}

# fetch_debian_source PKG [ORIG_SHA256]: prints the directory where Debian's
# source package PKG (the version apt would pick, Debian's patches applied) is
# unpacked under $STOFLOW_DEPS_DIR/PKG/, fetching it with apt-get source the
# first time only. With ORIG_SHA256, the upstream tarball (*.orig.tar.*) must
# have that SHA-256 (a pin on top of apt's signed indexes: Debian's security
# updates change the patches, not the upstream code); the checked hash is kept
# in $STOFLOW_DEPS_DIR/PKG/.orig-sha256, and a cache checked against another
# pin is fetched again. Delete $STOFLOW_DEPS_DIR/PKG to fetch it again.
fetch_debian_source() {
  local pkg="$1" pin="${2:-}"
  local cache="$STOFLOW_DEPS_DIR/$pkg"
  local stamp="$cache/.unpacked"
  if [ -f "$stamp" ] && [ -d "$cache/$(cat "$stamp")" ] &&
    { [ -z "$pin" ] || [ "$(cat "$cache/.orig-sha256" 2>/dev/null)" = "$pin" ]; }; then
    printf '%s\n' "$cache/$(cat "$stamp")"
    return 0
  fi
  ensure_packages dpkg-dev
  if [ -z "$(apt-cache showsrc --only-source "$pkg" 2>/dev/null)" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      say "apt knows no source package $pkg: add deb-src entries for Debian's archive, or run as root"
      return 1
    fi
    say "adding deb-src entries for Debian's archive ($STOFLOW_DEB_SRC_FILE.*)"
    ensure_deb_src_sources || { say "no Debian archive among the apt sources"; return 1; }
    apt-get update -qq >/dev/null || true
    if [ -z "$(apt-cache showsrc --only-source "$pkg" 2>/dev/null)" ]; then
      say "apt knows no source package $pkg, even with deb-src entries"
      return 1
    fi
  fi
  say "fetching Debian's source of $pkg into ${cache#"$STOFLOW_ROOT/"}"
  mkdir -p "$cache"
  local work
  work="$(mktemp -d "$cache/.fetch.XXXXXX")"
  # apt's downloader runs as _apt when it can reach the directory.
  chmod 755 "$work"
  if ! (cd "$work" && apt-get source -qq --only-source "$pkg") >"$work.log" 2>&1; then
    cat "$work.log" >&2
    rm -rf "$work" "$work.log"
    return 1
  fi
  if [ -n "$pin" ]; then
    local orig got
    orig="$(find "$work" -maxdepth 1 -name '*.orig.tar.*' ! -name '*.asc' | head -1)"
    got="$( [ -n "$orig" ] && sha256sum "$orig" | cut -d' ' -f1)"
    if [ "$got" != "$pin" ]; then
      say "$pkg: upstream tarball ${orig##*/} has SHA-256 ${got:-(none found)}, pinned $pin"
      rm -rf "$work" "$work.log"
      return 1
    fi
  fi
  local unpacked
  unpacked="$(find "$work" -mindepth 1 -maxdepth 1 -type d -printf '%f\n')"
  if [ -z "$unpacked" ] || [ "$(printf '%s\n' "$unpacked" | wc -l)" -ne 1 ]; then
    say "apt-get source $pkg unpacked no single directory (log: $work.log)"
    return 1
  fi
  rm -rf "${cache:?}/$unpacked"
  mv "$work/$unpacked" "$cache/$unpacked"
  rm -rf "$work" "$work.log"
  printf '%s\n' "$unpacked" >"$stamp"
  if [ -n "$pin" ]; then printf '%s\n' "$pin" >"$cache/.orig-sha256"; fi
  printf '%s\n' "$cache/$unpacked"
}
