#!/bin/sh
# restic-fleet agent installer for Linux. The control plane serves it at
# /agent/install.sh with its own URL filled in; `--help` lists the options.
#
#   curl -fsSL https://fleet.example.com/agent/install.sh | sudo sh -s -- --token <TOKEN>

RF_SERVER_DEFAULT='__RF_SERVER_URL__'

say() { printf 'restic-fleet: %s\n' "$*"; }
fail() {
  printf 'restic-fleet: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<'USAGE'
usage: install.sh [--token T] [--server URL] [--prefix DIR] [--no-service] [--allow-insecure]

Installs the restic-fleet agent (Node.js >= 20 needed). Installs restic with
apt-get, dnf or apk when it is missing and this runs as root; downloads the
agent and checks its SHA-256; enrols; writes, enables and (re)starts the
systemd unit. Running it again updates the agent and restarts the service; it
never enrols twice.

  --token T      one-time enrolment token (web UI: Settings > Add host);
                 needed for the first install only
  --server URL   the control plane (default: the one that served this script)
  --prefix DIR   put the agent and its config in DIR (default: the agent in
                 /opt/restic-fleet, the config in /etc/restic-fleet/agent.yaml)
  --no-service   install no systemd unit; print the command that runs the agent
  --allow-insecure  accept an http:// control plane on another machine (the agent
                 secret and repository passwords then cross the network in clear)
USAGE
}

# Quotes a word for a shell command line only when it needs it.
quote() {
  case "$1" in
    *[!A-Za-z0-9_./:=@%+,-]* | '') printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}

# download URL FILE: curl, else wget, else Node.js itself; two minutes at most.
download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --max-time 120 --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 120 -O "$2" "$1"
  else
    # shellcheck disable=SC2016 # JavaScript, not shell: ${...} is a template literal
    "$NODE" -e '
const [url, file] = process.argv.slice(1);
fetch(url, { signal: AbortSignal.timeout(120000) })
  .then(async (r) => {
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    require("fs").writeFileSync(file, Buffer.from(await r.arrayBuffer()));
  })
  .catch((e) => { console.error(`${url}: ${e.cause?.code ?? e.message}`); process.exit(1); });' "$1" "$2"
  fi
}

sha256_of() {
  "$NODE" -e 'const c = require("crypto"), fs = require("fs");
process.stdout.write(c.createHash("sha256").update(fs.readFileSync(process.argv[1])).digest("hex"));' "$1"
}

install_restic() {
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q restic
  elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache -q restic
  else
    return 1
  fi
}

main() {
  server=$RF_SERVER_DEFAULT
  token=''
  prefix=''
  service=1
  insecure=''
  while [ $# -gt 0 ]; do
    case "$1" in
      --token | --server | --prefix)
        if [ $# -lt 2 ] || [ -z "$2" ]; then fail "$1 needs a value"; fi
        case "$1" in
          --token) token=$2 ;;
          --server) server=$2 ;;
          --prefix) prefix=$2 ;;
        esac
        shift 2
        ;;
      --token=*) token=${1#*=} && shift ;;
      --server=*) server=${1#*=} && shift ;;
      --prefix=*) prefix=${1#*=} && shift ;;
      --no-service) service=0 && shift ;;
      --allow-insecure) insecure=--allow-insecure && shift ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) fail "unknown option $1 (try --help)" ;;
    esac
  done

  server=${server%/}
  case "$server" in
    http://?* | https://?*) ;;
    *) fail "--server must be the control plane's http(s) URL (got \"$server\")" ;;
  esac
  if [ -n "$prefix" ]; then
    case "$prefix" in
      /*) ;;
      *) prefix="$(pwd)/$prefix" ;;
    esac
    agent_dir=$prefix
    config=$prefix/agent.yaml
  else
    agent_dir=/opt/restic-fleet
    config=/etc/restic-fleet/agent.yaml
  fi
  agent=$agent_dir/restic-fleet-agent.js
  is_root=0
  [ "$(id -u)" -eq 0 ] && is_root=1
  if [ "$service" -eq 1 ] && [ "$is_root" -eq 0 ]; then
    fail "installing the system service needs root: run it with sudo, or add --prefix DIR --no-service"
  fi
  done_lines=''
  did() {
    done_lines="$done_lines  - $*
"
  }

  # 1. Node.js >= 20
  NODE=$(command -v node 2>/dev/null || true)
  [ -n "$NODE" ] ||
    fail "Node.js 20 or newer is required, and no 'node' was found on PATH. Install it (apt-get install nodejs, dnf install nodejs, apk add nodejs, or https://nodejs.org/) and run this again."
  node_version=$("$NODE" -p 'process.versions.node' 2>/dev/null || true)
  node_major=${node_version%%.*}
  case "$node_major" in
    '' | *[!0-9]*) fail "could not read the version of $NODE" ;;
  esac
  [ "$node_major" -ge 20 ] ||
    fail "Node.js $node_version ($NODE) is too old: the agent needs Node.js 20 or newer. Upgrade it and run this again."
  did "Node.js $node_version ($NODE)"

  # 2. restic
  restic=${RF_RESTIC_BIN:-$(command -v restic 2>/dev/null || true)}
  if [ -n "$restic" ]; then
    did "restic found: $restic"
  elif [ "$is_root" -eq 1 ]; then
    say "restic not found; installing it with the package manager"
    install_restic || fail "restic is missing and could not be installed (no apt-get, dnf or apk, or it failed above). Install restic and run this again."
    restic=$(command -v restic 2>/dev/null || true)
    [ -n "$restic" ] || fail "the package manager did not provide a restic command"
    did "installed restic: $restic"
  else
    say "warning: restic not found; jobs fail until it is installed (as root this script installs it)"
    did "restic NOT found: install it (jobs fail until then)"
  fi

  # 3. The agent: one file, checked against the SHA-256 the control plane publishes.
  mkdir -p "$agent_dir" || fail "cannot create $agent_dir"
  tmp=$(mktemp "$agent_dir/.restic-fleet-agent.js.XXXXXX") || fail "cannot write in $agent_dir"
  trap 'rm -f "$tmp" "$tmp.sha256"' EXIT
  download "$server/agent/restic-fleet-agent.js" "$tmp" ||
    fail "could not download the agent from $server/agent/restic-fleet-agent.js"
  download "$server/agent/restic-fleet-agent.js.sha256" "$tmp.sha256" ||
    fail "could not download $server/agent/restic-fleet-agent.js.sha256"
  expected=$(cut -d ' ' -f 1 "$tmp.sha256")
  actual=$(sha256_of "$tmp")
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    fail "the downloaded agent does not match its published SHA-256 (expected $expected, got $actual); nothing was changed. Run this again."
  fi
  new_version=$("$NODE" "$tmp" --version 2>/dev/null) || fail "the downloaded agent does not run with $NODE"
  old_version=''
  [ -f "$agent" ] && old_version=$("$NODE" "$agent" --version 2>/dev/null || echo unknown)
  chmod 0644 "$tmp"
  mv -f "$tmp" "$agent" || fail "cannot replace $agent"
  if [ -z "$old_version" ]; then
    did "installed agent $new_version: $agent (SHA-256 $actual)"
  elif [ "$old_version" = "$new_version" ]; then
    did "agent $new_version was installed already; file refreshed: $agent (SHA-256 $actual)"
  else
    did "updated agent $old_version -> $new_version: $agent (SHA-256 $actual)"
  fi

  # 4. Enrolment, once: a config with an agent_id means this host is enrolled already.
  if [ -f "$config" ] && grep -q '^agent_id:' "$config"; then
    did "already enrolled; kept $config"
    [ -z "$token" ] || say "note: this host is enrolled already, so the token was not used; revoke it in Settings if nobody else needs it"
  else
    [ -n "$token" ] || fail "--token is required for the first install (web UI: Settings > Add host)"
    # The token travels in the environment, not on a command line other users can list.
    # shellcheck disable=SC2086 # $insecure is one option or nothing
    RF_ENROL_TOKEN=$token "$NODE" "$agent" enrol --server "$server" --config "$config" $insecure >/dev/null ||
      fail "enrolment with $server failed (see above)"
    did "enrolled with $server; config $config (mode 0600)"
  fi

  # 5. The service.
  run_cmd="node $(quote "$agent") run --config $(quote "$config")"
  if [ "$service" -eq 1 ]; then
    if [ -d /run/systemd/system ]; then
      "$NODE" "$agent" service install --config "$config" >/dev/null || fail "installing the systemd unit failed (see above)"
      did "systemd unit restic-fleet-agent.service written, enabled and (re)started"
    else
      did "systemd is not running here: no service installed; start the agent with the command below"
      service=0
    fi
  elif [ -n "$old_version" ]; then
    did "no service (--no-service): restart the running agent to use the new file"
  fi

  printf '\nrestic-fleet agent install: done.\n%s' "$done_lines"
  if [ "$service" -eq 0 ]; then
    printf '\nRun the agent with:\n%s\n' "$run_cmd"
  else
    printf '\nCheck it with: systemctl status restic-fleet-agent\n'
  fi
}

# Everything runs from main, so a download cut short never runs half a script.
main "$@"
