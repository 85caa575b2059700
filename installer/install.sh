#!/usr/bin/env bash
# StoFlow Companion: registers the native messaging host com.stoflow.companion with the browsers
# of this Linux or macOS machine, by writing one host manifest per browser directory listed in
# installer/browsers.tsv. See docs/install.md.
set -euo pipefail
umask 022

SF_PROG=install.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

TABLE="$SCRIPT_DIR/browsers.tsv"
TEMPLATE_DIR="$SCRIPT_DIR/../manifest"

usage() {
  cat <<EOF
Usage: install.sh [OPTIONS]

Registers the StoFlow Companion host ($SF_HOST_NAME) with Chrome, Chromium, Edge, Brave,
Vivaldi and Firefox by writing native messaging host manifests. Browsers that are not installed
yet get their manifest too, so they work as soon as they are installed.

Options:
  --host PATH                 the stoflow-host executable the manifests point to. Default:
                              ../bin/stoflow-host next to this script, else stoflow-host in PATH.
  --install-binary DIR        copy the host to DIR/stoflow-host (mode 0755) and point the
                              manifests there.
  --user                      install for the current user only (default).
  --system                    install for every user of the machine (usually needs sudo).
  --browser NAME              only this browser: chrome, chromium, edge, brave, vivaldi, firefox
                              or all. Repeatable, or comma-separated. Default: all.
  --chrome-user-data-dir DIR  also register with a Chromium-family browser started with
                              --user-data-dir=DIR (writes DIR/NativeMessagingHosts/). Repeatable.
  --dry-run                   print what would be done, change nothing.
  --quiet                     print errors only.
  -h, --help                  show this help.

Exit status: 0 on success, 1 on failure, 2 on a usage error.
EOF
}

HOST_ARG=''
HOST_SET=0
BINARY_DIR=''

while [ "$#" -gt 0 ]; do
  case $1 in
    --host) sf_need_value "$1" "$#"; HOST_ARG=$2; HOST_SET=1; shift 2 ;;
    --host=*) HOST_ARG=${1#*=}; HOST_SET=1; shift ;;
    --install-binary) sf_need_value "$1" "$#"; BINARY_DIR=$2; shift 2 ;;
    --install-binary=*) BINARY_DIR=${1#*=}; shift ;;
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

# --- the host executable ------------------------------------------------------------------------

# Validates the host executable named by $1 and prints its absolute path.
resolve_host() {
  local given=$1 path
  case $given in
    *[[:cntrl:]]*) sf_die "the host path contains a control character" ;;
  esac
  path=$(sf_absolute_path "$given") || sf_die "cannot resolve the host path '$given'"
  if [ ! -e "$path" ]; then
    sf_die "host executable not found: $path (from '$given'). Build the host or pass --host /absolute/path/to/$SF_HOST_BINARY"
  fi
  if [ -d "$path" ]; then
    sf_die "host path is a directory, not an executable: $path"
  fi
  if [ ! -f "$path" ]; then
    sf_die "host path is not a regular file: $path"
  fi
  if [ ! -x "$path" ]; then
    sf_die "host file is not executable: $path (chmod 0755 it, or pass the right --host)"
  fi
  printf '%s\n' "$path"
}

if [ "$HOST_SET" -eq 1 ]; then
  [ -n "$HOST_ARG" ] || sf_usage_die "--host needs a path"
  HOST=$(resolve_host "$HOST_ARG")
elif [ -f "$SCRIPT_DIR/../bin/$SF_HOST_BINARY" ]; then
  HOST=$(resolve_host "$SCRIPT_DIR/../bin/$SF_HOST_BINARY")
elif found=$(command -v "$SF_HOST_BINARY" 2>/dev/null) && [ -n "$found" ]; then
  HOST=$(resolve_host "$found")
else
  sf_die "cannot find $SF_HOST_BINARY (looked in $(sf_absolute_path "$SCRIPT_DIR/../bin") and in PATH); pass --host /absolute/path/to/$SF_HOST_BINARY"
fi

# Where the manifests point: the host itself, or its copy under --install-binary.
TARGET_HOST=$HOST
if [ -n "$BINARY_DIR" ]; then
  case $BINARY_DIR in
    *[[:cntrl:]]*) sf_die "the --install-binary directory contains a control character" ;;
  esac
  BINARY_DIR=$(sf_absolute_path "$BINARY_DIR") || sf_die "cannot resolve --install-binary '$BINARY_DIR'"
  if [ -e "$BINARY_DIR" ] && [ ! -d "$BINARY_DIR" ]; then
    sf_die "--install-binary: $BINARY_DIR exists and is not a directory"
  fi
  TARGET_HOST="${BINARY_DIR%/}/$SF_HOST_BINARY"
fi

# Custom Chromium user data directories, checked before anything is written.
USER_DATA_ABS=()
for data_dir in ${USER_DATA_DIRS[@]+"${USER_DATA_DIRS[@]}"}; do
  case $data_dir in
    '') sf_usage_die "--chrome-user-data-dir needs a directory" ;;
    *[[:cntrl:]]*) sf_die "the --chrome-user-data-dir path contains a control character" ;;
  esac
  data_dir=$(sf_absolute_path "$data_dir") || sf_die "cannot resolve --chrome-user-data-dir '$data_dir'"
  if [ -e "$data_dir" ] && [ ! -d "$data_dir" ]; then
    sf_die "--chrome-user-data-dir: $data_dir exists and is not a directory"
  fi
  USER_DATA_ABS+=("$data_dir")
done

# --- manifests ----------------------------------------------------------------------------------

# Prints the manifest of FLAVOUR (chrome|firefox) with the host path filled in.
render_manifest() {
  local template="$TEMPLATE_DIR/$1.json.in" content rendered='' escaped
  [ -r "$template" ] || sf_die "missing manifest template $template"
  content=$(cat -- "$template")
  case $content in
    *@HOST_PATH@*) ;;
    *) sf_die "template $template has no @HOST_PATH@ placeholder" ;;
  esac
  escaped=$(sf_json_escape "$TARGET_HOST")
  # Split around the placeholder rather than ${x//pat/rep}, whose handling of '\' and '&' in the
  # replacement differs between bash 3.2, 4.x and 5.2. Only the template's text is scanned, so a
  # path that itself contains the placeholder is inserted as it is.
  while :; do
    case $content in
      *@HOST_PATH@*) ;;
      *) break ;;
    esac
    rendered="$rendered${content%%@HOST_PATH@*}$escaped"
    content=${content#*@HOST_PATH@}
  done
  printf '%s\n' "$rendered$content"
}

CHROME_MANIFEST=$(render_manifest chrome)
FIREFOX_MANIFEST=$(render_manifest firefox)

# Whether FILE already holds CONTENT with mode 0644.
is_up_to_date() {
  local file=$1 content=$2
  [ -f "$file" ] && [ ! -L "$file" ] || return 1
  [ "$(cat -- "$file" 2>/dev/null)" = "$content" ] || return 1
  [ -n "$(find "$file" -prune -perm 0644 2>/dev/null)" ]
}

# Writes CONTENT to DIR/com.stoflow.companion.json atomically (temp file + rename), mode 0644.
# Prints the action taken: written, updated or unchanged. Returns 1 (after an error message) on
# failure.
write_manifest() {
  local dir=$1 content=$2 file tmp action
  file="$dir/$SF_MANIFEST_FILE"
  if [ -e "$file" ] && [ ! -f "$file" ]; then
    sf_error "$file exists and is not a regular file; remove it and run again"
    return 1
  fi
  if is_up_to_date "$file" "$content"; then
    printf 'unchanged\n'
    return 0
  fi
  if [ -e "$file" ] || [ -L "$file" ]; then action=updated; else action=written; fi
  if ! mkdir -p -- "$dir" 2>/dev/null; then
    sf_error "cannot create directory $dir$(permission_hint)"
    return 1
  fi
  if ! tmp=$(mktemp "$dir/.$SF_MANIFEST_FILE.XXXXXX" 2>/dev/null); then
    sf_error "cannot write in $dir$(permission_hint)"
    return 1
  fi
  if printf '%s\n' "$content" >"$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$file"; then
    printf '%s\n' "$action"
    return 0
  fi
  rm -f -- "$tmp"
  sf_error "cannot write $file$(permission_hint)"
  return 1
}

permission_hint() {
  if [ "$SCOPE" = system ] && [ "$(id -u)" -ne 0 ]; then
    printf ' (a system-wide install needs root: run it with sudo)'
  fi
}

install_binary() {
  local tmp
  if [ "$HOST" -ef "$TARGET_HOST" ] 2>/dev/null; then
    sf_say "host binary: $TARGET_HOST is already the host, not copied"
    return 0
  fi
  if [ "$DRY_RUN" -eq 1 ]; then
    sf_say "host binary: would copy $HOST to $TARGET_HOST (mode 0755)"
    return 0
  fi
  if [ -d "$TARGET_HOST" ]; then
    sf_die "$TARGET_HOST is a directory; remove it or choose another --install-binary directory"
  fi
  mkdir -p -- "$BINARY_DIR" 2>/dev/null || sf_die "cannot create directory $BINARY_DIR"
  tmp=$(mktemp "$BINARY_DIR/.$SF_HOST_BINARY.XXXXXX" 2>/dev/null) || sf_die "cannot write in $BINARY_DIR"
  if cp -- "$HOST" "$tmp" && chmod 0755 "$tmp" && mv -f -- "$tmp" "$TARGET_HOST"; then
    sf_say "host binary: copied $HOST to $TARGET_HOST (mode 0755)"
  else
    rm -f -- "$tmp"
    sf_die "cannot copy $HOST to $TARGET_HOST"
  fi
}

# --- main ---------------------------------------------------------------------------------------

if [ "$SCOPE" = user ] && [ "$(id -u)" -eq 0 ] && [ -z "${STOFLOW_INSTALL_ROOT:-}" ] && [ -z "${STOFLOW_INSTALL_OS:-}" ]; then
  sf_warn "running as root with --user installs for root's HOME ($HOME) only; use --system for every user"
fi

ROWS=$(sf_table_rows "$TABLE" "$OS" "$SCOPE")
SELECTED=$(sf_selected_in_order)

if [ "$DRY_RUN" -eq 1 ]; then
  sf_say "StoFlow Companion: dry run, nothing is changed ($OS, $SCOPE scope)"
else
  sf_say "StoFlow Companion: registering native messaging host $SF_HOST_NAME ($OS, $SCOPE scope)"
fi
sf_say "  host: $TARGET_HOST"
if [ -n "$BINARY_DIR" ]; then
  install_binary
fi

DONE_FILES=$'\n'   # files handled in this run, one per line, to write a shared directory once
FOUND=''
NOT_FOUND=''
FAILED=0
COUNT=0

handle_target() {
  # $1 label (browser name), $2 flavour, $3 directory
  local label=$1 flavour=$2 dir=$3 file content action
  case $dir in
    /?*) ;;
    *) sf_die "internal error: not an absolute directory: '$dir'" ;;
  esac
  file="$dir/$SF_MANIFEST_FILE"
  if [ "$flavour" = firefox ]; then content=$FIREFOX_MANIFEST; else content=$CHROME_MANIFEST; fi
  case $DONE_FILES in
    *$'\n'"$file"$'\n'*)
      sf_say "  $(sf_pad "$label" 9) $(sf_pad "(same file)" 11) $file"
      return 0
      ;;
  esac
  DONE_FILES="$DONE_FILES$file"$'\n'
  if [ "$DRY_RUN" -eq 1 ]; then
    if is_up_to_date "$file" "$content"; then action=unchanged; else action="would write"; fi
  elif ! action=$(write_manifest "$dir" "$content"); then
    FAILED=$((FAILED + 1))
    return 0
  fi
  COUNT=$((COUNT + 1))
  sf_say "  $(sf_pad "$label" 9) $(sf_pad "$action" 11) $file"
}

for browser in $SELECTED; do
  if sf_browser_found "$OS" "$browser" "$TABLE"; then
    FOUND="$FOUND $browser"
  else
    NOT_FOUND="$NOT_FOUND $browser"
  fi
  while IFS=$'\t' read -r row flavour location; do
    [ "$row" = "$browser" ] || continue
    dir=$(sf_expand_location "$location") || exit 1
    handle_target "$browser" "$flavour" "$dir"
  done <<EOF
$ROWS
EOF
done

for data_dir in ${USER_DATA_ABS[@]+"${USER_DATA_ABS[@]}"}; do
  handle_target "user-data" chrome "${data_dir%/}/NativeMessagingHosts"
done

if [ "$FAILED" -gt 0 ]; then
  sf_error "$FAILED manifest(s) could not be written"
  exit 1
fi

sf_say "Browsers found:${FOUND:- none}"
if [ -n "$NOT_FOUND" ]; then
  sf_say "Not found (registered anyway, they will work once installed):$NOT_FOUND"
fi
if [ "$DRY_RUN" -eq 1 ]; then
  sf_say "Dry run: $COUNT manifest(s) checked, nothing written."
else
  sf_say "Done: $COUNT manifest(s) in place. Restart the browser if it was running, then load the extension (docs/install.md)."
fi
