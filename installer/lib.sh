# shellcheck shell=bash
# shellcheck disable=SC2034 # the SF_* settings are read by the scripts that source this file
# StoFlow Companion installer: code shared by install.sh and uninstall.sh (sourced, not run).
#
# Written for bash 3.2 (macOS's /bin/bash) as well as bash 5: no associative arrays, no mapfile,
# no ${var,,}, and empty arrays are expanded with the ${a[@]+"${a[@]}"} guard because of set -u.
#
# Test-only environment (documented in docs/install.md):
#   STOFLOW_INSTALL_OS    linux | macos: use that OS's rows instead of the detected one.
#   STOFLOW_INSTALL_ROOT  directory prefixed to every absolute (system) path of the table and to
#                         the /Applications probes, so system-wide installs can be tested unprivileged.

SF_HOST_NAME="com.stoflow.companion"
SF_MANIFEST_FILE="$SF_HOST_NAME.json"
SF_HOST_BINARY="stoflow-host"
SF_ALL_BROWSERS="chrome chromium edge brave vivaldi firefox"

SF_QUIET=0
SF_PROG=${SF_PROG:-stoflow-installer}

sf_say() {
  if [ "$SF_QUIET" -eq 0 ]; then
    printf '%s\n' "$*"
  fi
}

sf_warn() {
  printf '%s: warning: %s\n' "$SF_PROG" "$*" >&2
}

sf_error() {
  printf '%s: error: %s\n' "$SF_PROG" "$*" >&2
}

sf_die() {
  sf_error "$*"
  exit 1
}

# Usage errors exit 2, like most command-line tools.
sf_usage_die() {
  sf_error "$*"
  printf "Try '%s --help'.\n" "$SF_PROG" >&2
  exit 2
}

# The OS whose rows apply: linux or macos.
sf_detect_os() {
  local forced=${STOFLOW_INSTALL_OS:-}
  if [ -n "$forced" ]; then
    case $forced in
      linux | macos) printf '%s\n' "$forced" ;;
      *) sf_die "STOFLOW_INSTALL_OS must be linux or macos, not '$forced'" ;;
    esac
    return 0
  fi
  case $(uname -s) in
    Linux) printf 'linux\n' ;;
    Darwin) printf 'macos\n' ;;
    *) sf_die "unsupported system '$(uname -s)': this script handles Linux and macOS (use installer/install.ps1 on Windows)" ;;
  esac
}

sf_is_known_browser() {
  case " $SF_ALL_BROWSERS " in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# Prints the rows of TABLE for OS and SCOPE as "browser<TAB>flavour<TAB>location" lines, in table
# order. Dies on a malformed table, so a broken data file never half-installs.
sf_table_rows() {
  local table=$1 want_os=$2 want_scope=$3
  local line lineno=0 seen_header=0 os scope browser flavour location extra
  [ -r "$table" ] || sf_die "cannot read the browser table $table"
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line=${line%$'\r'}
    case $line in
      '' | '#'*) continue ;;
    esac
    extra=
    IFS=$'\t' read -r os scope browser flavour location extra <<EOF
$line
EOF
    if [ "$seen_header" -eq 0 ]; then
      if [ "$os $scope $browser $flavour $location" != "os scope browser flavour location" ] || [ -n "$extra" ]; then
        sf_die "$table:$lineno: expected the header 'os<TAB>scope<TAB>browser<TAB>flavour<TAB>location'"
      fi
      seen_header=1
      continue
    fi
    if [ -z "$location" ] || [ -n "$extra" ]; then
      sf_die "$table:$lineno: expected 5 tab-separated fields"
    fi
    case $os in linux | macos | windows) ;; *) sf_die "$table:$lineno: unknown os '$os'" ;; esac
    case $scope in user | system) ;; *) sf_die "$table:$lineno: unknown scope '$scope'" ;; esac
    case $flavour in chrome | firefox) ;; *) sf_die "$table:$lineno: unknown flavour '$flavour'" ;; esac
    sf_is_known_browser "$browser" || sf_die "$table:$lineno: unknown browser '$browser'"
    if [ "$os" = "$want_os" ] && [ "$scope" = "$want_scope" ]; then
      printf '%s\t%s\t%s\n' "$browser" "$flavour" "$location"
    fi
  done <"$table"
  [ "$seen_header" -eq 1 ] || sf_die "$table: no header row"
}

# Expands a linux/macos location of the table into an absolute directory (see browsers.tsv).
sf_expand_location() {
  local loc=$1 config
  # shellcheck disable=SC2088,SC2016 # '~' and '$XDG_CONFIG_HOME' are literal table tokens here
  case $loc in
    '~/'* | '$XDG_CONFIG_HOME/'*)
      case ${HOME:-} in
        /*) ;;
        *) sf_die "HOME must be set to an absolute directory for a per-user install" ;;
      esac
      ;;
  esac
  # shellcheck disable=SC2088,SC2016 # '~' and '$XDG_CONFIG_HOME' are literal table tokens here
  case $loc in
    '~/'*)
      printf '%s/%s\n' "${HOME%/}" "${loc#'~/'}"
      ;;
    '$XDG_CONFIG_HOME/'*)
      config=${XDG_CONFIG_HOME:-}
      case $config in
        /*) ;;
        *) config="${HOME%/}/.config" ;;
      esac
      # shellcheck disable=SC2016
      printf '%s/%s\n' "${config%/}" "${loc#'$XDG_CONFIG_HOME/'}"
      ;;
    /*)
      printf '%s%s\n' "${STOFLOW_INSTALL_ROOT:-}" "$loc"
      ;;
    *)
      sf_die "browser table: cannot expand location '$loc'"
      ;;
  esac
}

# Makes PATH absolute (relative to the current directory) without resolving symbolic links, so a
# package manager's stable symlink (e.g. /usr/local/bin/stoflow-host) stays what manifests name.
sf_absolute_path() {
  local p=$1 dir base
  case $p in
    /*) ;;
    *) p="$(pwd)/$p" ;;
  esac
  dir=$(dirname -- "$p")
  base=$(basename -- "$p")
  if [ -d "$dir" ]; then
    dir=$(cd -- "$dir" && pwd) || return 1
  fi
  if [ "$dir" = / ]; then
    printf '/%s\n' "$base"
  else
    printf '%s/%s\n' "$dir" "$base"
  fi
}

# JSON string body of $1 (no surrounding quotes). Callers reject control characters first.
sf_json_escape() {
  local s=$1 out='' c i=0 n=${#1}
  while [ "$i" -lt "$n" ]; do
    c=${s:i:1}
    case $c in
      \\) out="$out\\\\" ;;
      \") out="$out\\\"" ;;
      *) out="$out$c" ;;
    esac
    i=$((i + 1))
  done
  printf '%s' "$out"
}

# A per-user install needs an absolute HOME; a system-wide one only uses it to probe for browsers.
sf_check_home() {
  if [ "$1" = user ]; then
    case ${HOME:-} in
      /*) ;;
      *) sf_die "HOME must be set to an absolute directory for a per-user install" ;;
    esac
  fi
}

# Whether BROWSER seems to be installed (or to have been used) on OS. Only informative: manifests
# are written for every browser anyway, so a browser installed later works at once.
sf_browser_found() {
  local os=$1 browser=$2 table=$3 cmds='' apps='' cmd app row flavour loc dir home
  home=${HOME:-/nonexistent}
  home=${home%/}
  # A Chromium-family browser that has run has a "Local State" file in its user data directory,
  # which is the parent of its per-user NativeMessagingHosts directory.
  if [ "$browser" != firefox ]; then
    while IFS=$'\t' read -r row flavour loc; do
      [ "$row" = "$browser" ] || continue
      dir=$(sf_expand_location "$loc" 2>/dev/null) || continue
      if [ -f "$(dirname -- "$dir")/Local State" ]; then
        return 0
      fi
    done <<EOF
$(sf_table_rows "$table" "$os" user)
EOF
  fi
  case $os in
    linux)
      case $browser in
        chrome) cmds="google-chrome google-chrome-stable google-chrome-beta google-chrome-unstable" ;;
        chromium) cmds="chromium chromium-browser" ;;
        edge) cmds="microsoft-edge microsoft-edge-stable microsoft-edge-beta microsoft-edge-dev" ;;
        brave) cmds="brave-browser brave brave-browser-stable brave-browser-beta brave-browser-nightly" ;;
        vivaldi) cmds="vivaldi vivaldi-stable vivaldi-snapshot" ;;
        firefox)
          cmds="firefox firefox-esr"
          if [ -f "$home/.mozilla/firefox/profiles.ini" ] ||
            [ -f "${XDG_CONFIG_HOME:-$home/.config}/mozilla/firefox/profiles.ini" ]; then
            return 0
          fi
          ;;
      esac
      for cmd in $cmds; do
        if command -v "$cmd" >/dev/null 2>&1; then
          return 0
        fi
      done
      ;;
    macos)
      case $browser in
        chrome) apps="Google Chrome" ;;
        chromium) apps="Chromium" ;;
        edge) apps="Microsoft Edge" ;;
        brave) apps="Brave Browser" ;;
        vivaldi) apps="Vivaldi" ;;
        firefox)
          apps="Firefox"
          if [ -f "$home/Library/Application Support/Firefox/profiles.ini" ]; then
            return 0
          fi
          ;;
      esac
      for app in "${STOFLOW_INSTALL_ROOT:-}/Applications/$apps.app" "$home/Applications/$apps.app"; do
        if [ -d "$app" ]; then
          return 0
        fi
      done
      ;;
  esac
  return 1
}

# Adds the browsers named in $1 (comma-separated list, or "all") to SF_SELECTED (space-separated,
# canonical order is restored by sf_selected_in_order).
SF_SELECTED=''
sf_select_browsers() {
  local list=$1 name old_ifs=$IFS
  IFS=,
  # shellcheck disable=SC2086 # word splitting on commas is the point
  set -- $list
  IFS=$old_ifs
  [ "$#" -gt 0 ] || sf_usage_die "--browser needs a name ($SF_ALL_BROWSERS, or all)"
  for name in "$@"; do
    name=$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')
    case $name in
      all) SF_SELECTED="$SF_SELECTED $SF_ALL_BROWSERS" ;;
      google-chrome) SF_SELECTED="$SF_SELECTED chrome" ;;
      msedge | microsoft-edge) SF_SELECTED="$SF_SELECTED edge" ;;
      *)
        sf_is_known_browser "$name" || sf_usage_die "unknown browser '$name' (known: $SF_ALL_BROWSERS)"
        SF_SELECTED="$SF_SELECTED $name"
        ;;
    esac
  done
}

# The selected browsers (all when none was selected), once each, in canonical order.
sf_selected_in_order() {
  local b out=''
  for b in $SF_ALL_BROWSERS; do
    if [ -z "$SF_SELECTED" ]; then
      out="$out $b"
      continue
    fi
    case " $SF_SELECTED " in
      *" $b "*) out="$out $b" ;;
    esac
  done
  printf '%s\n' "${out# }"
}

sf_is_selected() {
  case " $(sf_selected_in_order) " in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# A --chrome-user-data-dir makes sense only when a Chromium-family browser is selected.
sf_any_chromium_selected() {
  local b
  for b in $(sf_selected_in_order); do
    [ "$b" = firefox ] || return 0
  done
  return 1
}

# Prints "%-9s" padded browser names etc. without relying on column(1).
sf_pad() {
  printf "%-${2}s" "$1"
}

# --- options shared by install.sh and uninstall.sh ----------------------------------------------

SCOPE=user
DRY_RUN=0
USER_DATA_DIRS=()
NUM_USER_DATA_DIRS=0

sf_need_value() {
  # $1 option, $2 number of remaining arguments including the option
  [ "$2" -ge 2 ] || sf_usage_die "$1 needs a value"
}

# Parses one option both scripts take. Sets SF_CONSUMED to the number of
# arguments used (0 when $1 is not a shared option).
sf_common_option() {
  SF_CONSUMED=1
  case $1 in
    --user) SCOPE=user ;;
    --system) SCOPE=system ;;
    --browser) sf_need_value "$1" "$#"; sf_select_browsers "$2"; SF_CONSUMED=2 ;;
    --browser=*) sf_select_browsers "${1#*=}" ;;
    --chrome-user-data-dir) sf_need_value "$1" "$#"; USER_DATA_DIRS+=("$2"); NUM_USER_DATA_DIRS=$((NUM_USER_DATA_DIRS + 1)); SF_CONSUMED=2 ;;
    --chrome-user-data-dir=*) USER_DATA_DIRS+=("${1#*=}"); NUM_USER_DATA_DIRS=$((NUM_USER_DATA_DIRS + 1)) ;;
    --dry-run) DRY_RUN=1 ;;
    --quiet | -q) SF_QUIET=1 ;;
    --) [ "$#" -eq 1 ] || sf_usage_die "unexpected argument '$2'" ;;
    *) SF_CONSUMED=0 ;;
  esac
}

# After parsing: what both scripts check before touching anything.
sf_check_common_options() {
  if [ "$NUM_USER_DATA_DIRS" -gt 0 ] && ! sf_any_chromium_selected; then
    sf_usage_die "--chrome-user-data-dir applies to Chromium-family browsers, but only firefox is selected"
  fi
}
