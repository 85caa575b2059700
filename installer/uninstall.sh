#!/usr/bin/env bash
# StoFlow Companion: removes the native messaging host manifests that install.sh wrote on this
# Linux or macOS machine. Only files named com.stoflow.companion.json whose "name" is
# com.stoflow.companion and whose "path" names a stoflow-host are removed; directories and every
# other file are left alone.
set -euo pipefail
umask 022

SF_PROG=uninstall.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

TABLE="$SCRIPT_DIR/browsers.tsv"

usage() {
  cat <<EOF
Usage: uninstall.sh [OPTIONS]

Unregisters the StoFlow Companion host ($SF_HOST_NAME): removes the manifests install.sh wrote.
Only files named $SF_MANIFEST_FILE whose "name" is $SF_HOST_NAME and whose "path"
names a $SF_HOST_BINARY are removed.

Options:
  --user                      remove the current user's registration (default).
  --system                    remove the system-wide registration (usually needs sudo).
  --browser NAME              only this browser: chrome, chromium, edge, brave, vivaldi, firefox
                              or all. Repeatable, or comma-separated. Default: all. A directory
                              shared with a browser that is not selected is kept.
  --chrome-user-data-dir DIR  also remove DIR/NativeMessagingHosts/$SF_MANIFEST_FILE. Repeatable.
  --remove-binary DIR         also remove DIR/$SF_HOST_BINARY (as copied by install.sh
                              --install-binary DIR).
  --dry-run                   print what would be removed, change nothing.
  --quiet                     print errors only.
  -h, --help                  show this help.

Exit status: 0 on success (also when nothing was installed), 1 on failure, 2 on a usage error.
EOF
}

BINARY_DIR=''

while [ "$#" -gt 0 ]; do
  case $1 in
    --remove-binary) sf_need_value "$1" "$#"; BINARY_DIR=$2; shift 2 ;;
    --remove-binary=*) BINARY_DIR=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *)
      sf_common_option "$@"
      [ "$SF_CONSUMED" -gt 0 ] || sf_usage_die "unknown option '$1'"
      shift "$SF_CONSUMED"
      ;;
  esac
done
sf_check_common_options

OS=$(sf_detect_os)
sf_check_home "$SCOPE"

# Custom Chromium user data directories, checked before anything is removed.
USER_DATA_ABS=()
for data_dir in ${USER_DATA_DIRS[@]+"${USER_DATA_DIRS[@]}"}; do
  [ -n "$data_dir" ] || sf_usage_die "--chrome-user-data-dir needs a directory"
  data_dir=$(sf_absolute_path "$data_dir") || sf_die "cannot resolve --chrome-user-data-dir '$data_dir'"
  USER_DATA_ABS+=("$data_dir")
done
ROWS=$(sf_table_rows "$TABLE" "$OS" "$SCOPE")
SELECTED=$(sf_selected_in_order)

# Whether FILE names our host: its "name" member is our host name.
names_our_host() {
  grep -Eq '"name"[[:space:]]*:[[:space:]]*"com\.stoflow\.companion"' -- "$1" 2>/dev/null
}

# Whether FILE's "path" member names a file called stoflow-host (or stoflow-host.exe): the last
# component of the JSON string, after a / (or its escape \/) or an escaped \. `stoflow-host
# uninstall` applies the same two rules to the parsed manifest (host/src/install/manifest_text.h).
points_at_a_host() {
  grep -Eq '"path"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*(/|\\/|\\\\))?stoflow-host(\.exe)?"' -- "$1" 2>/dev/null
}

# The browsers, not selected, whose rows also name DIR (so their registration must be kept).
other_users_of() {
  local dir=$1 row flavour location others=''
  while IFS=$'\t' read -r row flavour location; do
    [ -n "$row" ] || continue
    sf_is_selected "$row" && continue
    if [ "$(sf_expand_location "$location" 2>/dev/null || true)" = "$dir" ]; then
      case " $others " in *" $row "*) ;; *) others="$others $row" ;; esac
    fi
  done <<EOF
$ROWS
EOF
  printf '%s' "${others# }"
}

if [ "$DRY_RUN" -eq 1 ]; then
  sf_say "StoFlow Companion: dry run, nothing is removed ($OS, $SCOPE scope)"
else
  sf_say "StoFlow Companion: unregistering native messaging host $SF_HOST_NAME ($OS, $SCOPE scope)"
fi

DONE_FILES=$'\n'
REMOVED=0
FAILED=0

handle_target() {
  # $1 label, $2 directory, $3 "check-shared" to keep a directory other browsers still use
  local label=$1 dir=$2 file others action hint
  case $dir in
    /?*) ;;
    *) sf_die "internal error: not an absolute directory: '$dir'" ;;
  esac
  file="$dir/$SF_MANIFEST_FILE"
  case $DONE_FILES in
    *$'\n'"$file"$'\n'*)
      sf_say "  $(sf_pad "$label" 9) $(sf_pad "(same file)" 13) $file"
      return 0
      ;;
  esac
  DONE_FILES="$DONE_FILES$file"$'\n'
  if [ ! -e "$file" ] && [ ! -L "$file" ]; then
    action="not present"
  elif [ ! -f "$file" ]; then
    sf_warn "$file is not a regular file; left alone"
    action="left alone"
  elif ! names_our_host "$file"; then
    sf_warn "$file does not name $SF_HOST_NAME; left alone"
    action="left alone"
  elif ! points_at_a_host "$file"; then
    sf_warn "$file does not point at a $SF_HOST_BINARY; left alone"
    action="left alone"
  else
    others=''
    if [ "${3:-}" = check-shared ]; then
      others=$(other_users_of "$dir")
    fi
    if [ -n "$others" ]; then
      action="kept (used by $others)"
    elif [ "$DRY_RUN" -eq 1 ]; then
      action="would remove"
    elif rm -f -- "$file" 2>/dev/null && [ ! -e "$file" ]; then
      action=removed
      REMOVED=$((REMOVED + 1))
    else
      hint=''
      if [ "$SCOPE" = system ] && [ "$(id -u)" -ne 0 ]; then hint=' (a system-wide uninstall needs root: run it with sudo)'; fi
      sf_error "cannot remove $file$hint"
      FAILED=$((FAILED + 1))
      return 0
    fi
  fi
  sf_say "  $(sf_pad "$label" 9) $(sf_pad "$action" 13) $file"
}

for browser in $SELECTED; do
  while IFS=$'\t' read -r row flavour location; do
    [ "$row" = "$browser" ] || continue
    dir=$(sf_expand_location "$location") || exit 1
    handle_target "$browser" "$dir" check-shared
  done <<EOF
$ROWS
EOF
done

for data_dir in ${USER_DATA_ABS[@]+"${USER_DATA_ABS[@]}"}; do
  handle_target "user-data" "${data_dir%/}/NativeMessagingHosts"
done

if [ -n "$BINARY_DIR" ]; then
  BINARY_DIR=$(sf_absolute_path "$BINARY_DIR") || sf_die "cannot resolve --remove-binary"
  binary="${BINARY_DIR%/}/$SF_HOST_BINARY"
  if [ ! -e "$binary" ]; then
    sf_say "host binary: $binary not present"
  elif [ ! -f "$binary" ]; then
    sf_error "$binary is not a regular file; left alone"
    FAILED=$((FAILED + 1))
  elif [ "$DRY_RUN" -eq 1 ]; then
    sf_say "host binary: would remove $binary"
  elif rm -f -- "$binary"; then
    sf_say "host binary: removed $binary"
  else
    sf_error "cannot remove $binary"
    FAILED=$((FAILED + 1))
  fi
fi

if [ "$FAILED" -gt 0 ]; then
  sf_error "$FAILED file(s) could not be removed"
  exit 1
fi
if [ "$DRY_RUN" -eq 1 ]; then
  sf_say "Dry run: nothing removed."
else
  sf_say "Done: $REMOVED manifest(s) removed. The browser extension itself is removed from the browser's extensions page."
fi
