#!/usr/bin/env bash
# Install wardwatch as a systemd service (deploy/wardwatch.service); docs/OPERATIONS.md. Idempotent:
# running it again changes nothing that is already right and never overwrites a config.
#
#   deploy/install-service.sh [--prefix DIR] [--user NAME] [--wardwatch PATH] [--config FILE]
#
#   --prefix DIR      stage everything under DIR instead of / (packaging, tests); the unit still names
#                     the real paths, and systemd is not told
#   --user NAME       the unprivileged account the service runs as (default wardwatch; created as a
#                     system user without a shell or login when it does not exist)
#   --wardwatch PATH  the wardwatch command (default: /opt/wardwatch/venv/bin/wardwatch, else the one on PATH)
#   --config FILE     the config to install as /etc/wardwatch/wardwatch.yaml when there is none yet
#                     (default: deploy/hospital.example.yaml with data_dir set to /var/lib/wardwatch)
#
# Made: /etc/wardwatch (0700, the config: it names the network), /var/lib/wardwatch (0700: data_dir,
# the store, feed snapshots, detector state), /etc/systemd/system/wardwatch.service (0644).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=""
user=wardwatch
wardwatch=""
config_src=""
die() { echo "install-service.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --user) user=${2:?--user needs a name}; shift 2 ;;
        --wardwatch) wardwatch=${2:?--wardwatch needs a path}; shift 2 ;;
        --config) config_src=${2:?--config needs a file}; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
case "$user" in *[!a-z0-9_-]*|"") die "--user: not an account name: $user" ;; esac
prefix=${prefix%/}
if [ -n "$prefix" ]; then mkdir -p "$prefix"; prefix=$(cd "$prefix" && pwd); fi

if [ -z "$wardwatch" ]; then
    if [ -x /opt/wardwatch/venv/bin/wardwatch ]; then
        wardwatch=/opt/wardwatch/venv/bin/wardwatch
    else
        wardwatch=$(command -v wardwatch || true)
    fi
    [ -n "$wardwatch" ] || die "no wardwatch command found: install it (e.g. into /opt/wardwatch/venv) or pass --wardwatch PATH"
fi
case "$wardwatch" in /*) ;; *) die "--wardwatch must be an absolute path (systemd needs one): $wardwatch" ;; esac
[ -x "$wardwatch" ] || die "$wardwatch is not an executable file"

etc=/etc/wardwatch
data=/var/lib/wardwatch
unit=/etc/systemd/system/wardwatch.service

# the account: a system user with no shell and no password, its home the data folder
if ! getent passwd "$user" >/dev/null; then
    [ "$(id -u)" = 0 ] || die "creating the user $user needs root"
    useradd --system --user-group --home-dir "$data" --no-create-home --shell /usr/sbin/nologin \
        --comment "wardwatch network monitoring" "$user"
    echo "created the system user $user"
fi
group=$(id -gn "$user")

# folders: owner-only (addresses of hospital hosts, keys, the store)
for d in "$etc" "$data"; do
    install -d -m 0700 "$prefix$d"
    if [ "$(id -u)" = 0 ]; then chown "$user:$group" "$prefix$d"; fi
done

cfg="$prefix$etc/wardwatch.yaml"
if [ ! -e "$cfg" ]; then
    if [ -n "$config_src" ]; then
        [ -f "$config_src" ] || die "--config: no such file: $config_src"
        install -m 0600 "$config_src" "$cfg"
    else
        tmp=$(mktemp)
        sed "s|^data_dir: .*|data_dir: $data                # the service's data folder (ReadWritePaths)|" \
            "$here/hospital.example.yaml" >"$tmp"
        install -m 0600 "$tmp" "$cfg"
        rm -f "$tmp"
    fi
    if [ "$(id -u)" = 0 ]; then chown "$user:$group" "$cfg"; fi
    echo "installed the config $etc/wardwatch.yaml: set its segments and interfaces, then \`wardwatch doctor --config $etc/wardwatch.yaml\`"
fi

# the unit, with this installation's command and user
install -d -m 0755 "$prefix$(dirname "$unit")"
tmp=$(mktemp)
sed -e "s|/opt/wardwatch/venv/bin/wardwatch|$wardwatch|g" \
    -e "s|^User=.*|User=$user|" -e "s|^Group=.*|Group=$group|" \
    "$here/wardwatch.service" >"$tmp"
if ! cmp -s "$tmp" "$prefix$unit" 2>/dev/null; then
    install -m 0644 "$tmp" "$prefix$unit"
    echo "installed $unit"
    if [ -z "$prefix" ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
    fi
fi
rm -f "$tmp"

if [ -z "$prefix" ]; then
    echo "next: wardwatch doctor --config $etc/wardwatch.yaml; systemctl enable --now wardwatch; journalctl -u wardwatch -f"
fi
