#!/bin/sh
# The EventStoreDB suites against a real KurrentDB, for any machine with Docker
# (README.md, "Running on EventStoreDB"; the GitHub workflow .github/workflows/esdb.yml
# runs it). Starts one secure KurrentDB node (its own CA and certificate, TLS on, a
# random admin password, data in memory), sets ESDB_TEST_URL to it, and runs:
#   - the event-store contract suite and the log consumer suite on the esdb adapter,
#   - the migration into EventStoreDB (restic-fleet migrate's copy, resume and check),
#   - one end-to-end flow: the real control plane on that server with a scripted agent.
# Removes the container and the certificates when it ends, however it ends.
#
#   sh .ci/esdb.sh        (from the repository root, after npm ci)
#   KURRENTDB_IMAGE=kurrentplatform/kurrentdb:26.1.1 KURRENTDB_PORT=2113 sh .ci/esdb.sh
set -eu

IMAGE=${KURRENTDB_IMAGE:-kurrentplatform/kurrentdb:26.1.1}
GENCERT=${GENCERT_IMAGE:-eventstore/es-gencert-cli:1.0.2}
PORT=${KURRENTDB_PORT:-2113}
NAME="rf-ci-kurrentdb-$$"

command -v docker >/dev/null 2>&1 || { echo "esdb.sh: Docker is needed and was not found" >&2; exit 2; }
command -v curl >/dev/null 2>&1 || { echo "esdb.sh: curl is needed and was not found" >&2; exit 2; }

WORK=$(mktemp -d)
cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$WORK/certs"
echo "esdb.sh: making a CA and a node certificate for 127.0.0.1/localhost"
docker run --rm --user "$(id -u):$(id -g)" -v "$WORK/certs:/certs" --entrypoint bash "$GENCERT" -c \
  'es-gencert-cli create-ca -out /certs/ca && es-gencert-cli create-node -ca-certificate /certs/ca/ca.crt -ca-key /certs/ca/ca.key -out /certs/node -dns-names localhost -ip-addresses 127.0.0.1'
# KurrentDB runs as its own user (1000) and must read its key; this directory is a temporary one of this run.
chmod -R a+rX "$WORK/certs"

# The password goes through a file, not the command line (which any local user can read).
umask 077
cat > "$WORK/kurrentdb.env" <<ENV
KURRENTDB_CLUSTER_SIZE=1
KURRENTDB_MEM_DB=true
KURRENTDB_RUN_PROJECTIONS=None
KURRENTDB_START_STANDARD_PROJECTIONS=false
KURRENTDB_ENABLE_ATOM_PUB_OVER_HTTP=false
KURRENTDB_MAX_APPEND_SIZE=1048576
KURRENTDB_CERTIFICATE_FILE=/etc/kurrentdb/certs/node/node.crt
KURRENTDB_CERTIFICATE_PRIVATE_KEY_FILE=/etc/kurrentdb/certs/node/node.key
KURRENTDB_TRUSTED_ROOT_CERTIFICATES_PATH=/etc/kurrentdb/certs/ca
KURRENTDB_DEFAULT_ADMIN_PASSWORD=$PASSWORD
ENV
umask 022

echo "esdb.sh: starting $IMAGE on 127.0.0.1:$PORT"
docker run -d --name "$NAME" -p "127.0.0.1:$PORT:2113" --env-file "$WORK/kurrentdb.env" \
  -v "$WORK/certs:/etc/kurrentdb/certs:ro" "$IMAGE" >/dev/null

CA="$WORK/certs/ca/ca.crt"
tries=0
until curl -fsS --max-time 5 --cacert "$CA" "https://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "esdb.sh: KurrentDB did not become healthy within 2 minutes; its log:" >&2
    docker logs --tail 100 "$NAME" >&2 || true
    exit 1
  fi
  sleep 2
done
echo "esdb.sh: KurrentDB is up"

ESDB_TEST_URL="esdb://admin:$PASSWORD@127.0.0.1:$PORT?tls=true&tlsCAFile=$CA"
export ESDB_TEST_URL

node scripts/build.js
node scripts/test.js --tier int --grep esdb-event-store
node scripts/test.js --tier int --grep log.consumer
node scripts/test.js --tier int --grep log-migration.esdb
node scripts/test.js --tier e2e --grep control-plane-esdb
echo "esdb.sh: every EventStoreDB suite passed against $IMAGE"
