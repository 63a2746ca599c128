#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft mode, no ZooKeeper) on loopback, for development and tests.
#
#   deploy/kafka/broker.sh fetch                         download the broker jars (cached), nothing else
#   deploy/kafka/broker.sh start DIR [--brokers N] [--sasl USER:PASSWORD] [--tls]
#                                                        format (first time) and start; the LAST line
#                                                        printed is the bootstrap address
#   deploy/kafka/broker.sh start DIR --node K            start node K again (after stop --node / a kill)
#   deploy/kafka/broker.sh stop DIR [--node K] [--kill]  stop all nodes (or node K); --kill = SIGKILL
#   deploy/kafka/broker.sh status DIR                    one line per node: id, port, pid, up|down
#
# The broker comes from Maven Central (org.apache.kafka:kafka_2.13) through `mvn`; the jars are cached in
# $WARDWATCH_KAFKA_CACHE (default ~/.cache/wardwatch/kafka/<version>), so only the first run needs the
# network. Needs Java 17+, Maven and python3 (to find free ports). With --brokers 3 every node is both
# broker and controller, and topics default to replication 3 with min.insync.replicas 2.
# With --sasl, each node also listens with SASL_PLAINTEXT (SCRAM-SHA-256 and -512) for that user; the
# address is in DIR/sasl_bootstrap.
# With --tls, each node also listens with SSL (and, with --sasl too, SASL_SSL), with a certificate for
# 127.0.0.1/localhost signed by a throwaway CA made with openssl: DIR/tls/ca.pem is the CA clients
# trust, DIR/tls/client.pem and client.key a client certificate (client certificates are requested,
# not required). The addresses are in DIR/tls_bootstrap and DIR/sasl_ssl_bootstrap.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
SLF4J_BINDING="org.apache.logging.log4j:log4j-slf4j-impl:2.24.3"
CACHE="${WARDWATCH_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wardwatch/kafka}/$KAFKA_VERSION"
HEAP="${KAFKA_HEAP:--Xms128m -Xmx512m}"
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-120}"

die() { printf 'broker.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'broker.sh: %s\n' "$*" >&2; }

fetch() {
    [ -f "$CACHE/lib/.complete" ] && return 0
    command -v java >/dev/null || die "java (17+) is not installed"
    command -v mvn >/dev/null || die "mvn (Maven) is not installed"
    local java_major
    java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    [ "${java_major:-0}" -ge 17 ] || die "Kafka $KAFKA_VERSION needs Java 17+, found ${java_major:-none}"
    say "fetching Kafka $KAFKA_VERSION from Maven Central into $CACHE (first run only)"
    mkdir -p "$CACHE"
    local tmp
    tmp="$(mktemp -d "$CACHE/fetch.XXXXXX")"
    local g a v
    IFS=: read -r g a v <<<"$SLF4J_BINDING"
    # A throwaway pom: Maven resolves the broker's runtime dependencies for us.
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.wardwatch</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka logs through SLF4J 1.7; without a binding its log would be silently dropped. -->
    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>
  </dependencies>
</project>
EOF
    if ! (cd "$tmp" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1); then
        cat "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
    fi
    touch "$tmp/lib/.complete"
    rm -rf "$CACHE/lib"
    mv "$tmp/lib" "$CACHE/lib"
    rm -rf "$tmp"
}

free_ports() { # N -> N distinct free TCP ports on 127.0.0.1
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

node_pid() { # DIR K -> pid if the node runs
    local f="$1/node-$2/pid"
    [ -f "$f" ] || return 1
    local pid
    pid="$(cat "$f")"
    kill -0 "$pid" 2>/dev/null || return 1
    # The pid file may be stale and the number reused: check it is our broker.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "node-$2/server.properties" || return 1
    echo "$pid"
}

make_tls() { # DIR: a CA, a server certificate for loopback and a client certificate (PEM, PKCS#8)
    local t="$1/tls"
    command -v openssl >/dev/null || die "--tls needs openssl"
    mkdir -p "$t"
    (
        cd "$t"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
            -subj "/CN=wardwatch test CA" >/dev/null 2>&1
        for who in server client; do
            openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" \
                -subj "/CN=wardwatch test $who" >/dev/null 2>&1
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$who.ext"
            openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" \
                -days 30 -extfile "$who.ext" >/dev/null 2>&1
        done
        # the broker's PEM keystore: certificate chain then the unencrypted PKCS#8 key
        openssl pkcs8 -topk8 -nocrypt -in server.key -out server.pk8 >/dev/null 2>&1
        cat server.pem ca.pem server.pk8 >server-keystore.pem
        chmod 600 ./*.key server.pk8 server-keystore.pem
    ) || die "could not make the TLS certificates in $t"
}

add_listener() { # PROTOCOL PORT: appends to the listener variables of write_configs' node loop
    listeners+=",$1://127.0.0.1:$2"
    advertised+=",$1://127.0.0.1:$2"
    protomap+=",$1:$1"
}

scram_jaas() { # LISTENER: its SCRAM login lines, each after a newline
    local m
    for m in scram-sha-256 scram-sha-512; do
        printf '\nlistener.name.%s.%s.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;' "$1" "$m"
    done
}

write_configs() { # DIR N SASL TLS
    local dir="$1" n="$2" sasl="$3" tls="${4:-}"
    local ports
    read -r -a ports <<<"$(free_ports $((n * 5)))"
    local voters="" k
    for ((k = 1; k <= n; k++)); do
        voters+="${voters:+,}$k@127.0.0.1:${ports[$((n + k - 1))]}"
    done
    local rf=1 isr=1
    [ "$n" -ge 3 ] && rf=3 && isr=2
    local bootstrap="" sasl_bootstrap="" tls_bootstrap="" sasl_ssl_bootstrap=""
    [ -n "$tls" ] && make_tls "$dir"
    for ((k = 1; k <= n; k++)); do
        local p="${ports[$((k - 1))]}" c="${ports[$((n + k - 1))]}" s="${ports[$((2 * n + k - 1))]}"
        local t="${ports[$((3 * n + k - 1))]}" st="${ports[$((4 * n + k - 1))]}"
        bootstrap+="${bootstrap:+,}127.0.0.1:$p"
        mkdir -p "$dir/node-$k/data"
        local listeners="PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c"
        local advertised="PLAINTEXT://127.0.0.1:$p"
        local protomap="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        local extra_props=""
        if [ -n "$sasl" ]; then
            sasl_bootstrap+="${sasl_bootstrap:+,}127.0.0.1:$s"
            add_listener SASL_PLAINTEXT "$s"
            extra_props="sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512$(scram_jaas sasl_plaintext)"
        fi
        if [ -n "$tls" ]; then
            tls_bootstrap+="${tls_bootstrap:+,}127.0.0.1:$t"
            add_listener SSL "$t"
            extra_props+="
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.pem
ssl.client.auth=requested"
            if [ -n "$sasl" ]; then
                sasl_ssl_bootstrap+="${sasl_ssl_bootstrap:+,}127.0.0.1:$st"
                add_listener SASL_SSL "$st"
                extra_props+="$(scram_jaas sasl_ssl)"
            fi
        fi
        cat >"$dir/node-$k/server.properties" <<EOF
# generated by deploy/kafka/broker.sh
process.roles=broker,controller
node.id=$k
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protomap
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/node-$k/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
auto.create.topics.enable=false
# Tests start consumers at once; the default 3 s wait for more group members only slows them.
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
message.max.bytes=8388608
$extra_props
EOF
    done
    {
        echo "NODES=$n"
        echo "BOOTSTRAP=$bootstrap"
        echo "CLUSTER_ID=$(java -cp "$CACHE/lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    } >"$dir/cluster.env"
    echo "$bootstrap" >"$dir/bootstrap"
    [ -n "$sasl" ] && echo "$sasl_bootstrap" >"$dir/sasl_bootstrap"
    [ -n "$tls" ] && echo "$tls_bootstrap" >"$dir/tls_bootstrap"
    [ -n "$tls" ] && [ -n "$sasl" ] && echo "$sasl_ssl_bootstrap" >"$dir/sasl_ssl_bootstrap"
    return 0
}

log4j_config() { # DIR
    cat >"$1/log4j2.properties" <<'EOF'
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

format_node() { # DIR K SASL
    local dir="$1" k="$2" sasl="$3"
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
    local extra=()
    if [ -n "$sasl" ]; then
        local user="${sasl%%:*}" pass="${sasl#*:}"
        extra=(--add-scram "SCRAM-SHA-256=[name=$user,password=$pass]"
            --add-scram "SCRAM-SHA-512=[name=$user,password=$pass]")
    fi
    java -cp "$CACHE/lib/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -Dkafka.logs.dir="$dir/node-$k" kafka.tools.StorageTool format --ignore-formatted \
        -t "$CLUSTER_ID" -c "$dir/node-$k/server.properties" "${extra[@]}" >"$dir/node-$k/format.log" 2>&1 \
        || { cat "$dir/node-$k/format.log" >&2; die "formatting node $k failed"; }
}

start_node() { # DIR K
    local dir="$1" k="$2"
    node_pid "$dir" "$k" >/dev/null && return 0
    local nd="$dir/node-$k"
    # A fresh log per start: readiness is read from it.
    [ -f "$nd/server.log" ] && mv "$nd/server.log" "$nd/server.log.prev"
    # shellcheck disable=SC2086
    nohup java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$nd" \
        -cp "$CACHE/lib/*" kafka.Kafka "$nd/server.properties" >"$nd/stdout.log" 2>&1 </dev/null &
    echo $! >"$nd/pid"
}

wait_ready() { # DIR K...
    local dir="$1"
    shift
    local deadline=$((SECONDS + READY_TIMEOUT)) k
    for k in "$@"; do
        until grep -q "Kafka Server started" "$dir/node-$k/server.log" 2>/dev/null; do
            # (not node_pid: right after the fork the command line is still bash's)
            if ! kill -0 "$(cat "$dir/node-$k/pid")" 2>/dev/null; then
                tail -30 "$dir/node-$k/stdout.log" "$dir/node-$k/server.log" >&2 2>/dev/null || true
                die "node $k exited while starting (logs in $dir/node-$k)"
            fi
            [ "$SECONDS" -lt "$deadline" ] || die "node $k not ready after ${READY_TIMEOUT}s (logs in $dir/node-$k)"
            sleep 0.2
        done
    done
}

stop_nodes() { # DIR SIGNAL K...
    local dir="$1" sig="$2"
    shift 2
    local pids=() k pid
    for k in "$@"; do
        if pid="$(node_pid "$dir" "$k")"; then
            kill "-$sig" "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    # All nodes are signalled together: stopping them one by one would leave the last ones waiting
    # for a controller quorum that is already gone.
    local deadline=$((SECONDS + 30))
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                say "pid $pid still running after 30s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.1
        done
    done
    for k in "$@"; do rm -f "$dir/node-$k/pid"; done
}

all_nodes() { # DIR -> 1..N
    # shellcheck disable=SC1091
    . "$1/cluster.env"
    seq 1 "$NODES"
}

cmd="${1:-}"
[ -n "$cmd" ] || die "usage: broker.sh fetch | start DIR [--brokers N] [--node K] [--sasl U:P] [--tls] | stop DIR [--node K] [--kill] | status DIR"
shift
if [ "$cmd" = fetch ]; then
    fetch
    echo "$CACHE/lib"
    exit 0
fi
[ $# -ge 1 ] || die "$cmd needs a DIR"
DIR="$1"
shift
brokers=1 node="" sasl="" tls="" sig=TERM
while [ $# -gt 0 ]; do
    case "$1" in
    --brokers) brokers="${2:?}"; shift 2 ;;
    --node) node="${2:?}"; shift 2 ;;
    --sasl) sasl="${2:?}"; shift 2 ;;
    --tls) tls=1; shift ;;
    --kill) sig=KILL; shift ;;
    *) die "unknown option $1" ;;
    esac
done
case "$brokers" in 1 | 2 | 3 | 4 | 5) ;; *) die "--brokers must be 1 to 5" ;; esac
[ -z "$sasl" ] || [[ "$sasl" == *:* ]] || die "--sasl needs USER:PASSWORD"

case "$cmd" in
start)
    fetch
    mkdir -p "$DIR"
    DIR="$(cd "$DIR" && pwd)"
    if [ ! -f "$DIR/cluster.env" ]; then
        log4j_config "$DIR"
        write_configs "$DIR" "$brokers" "$sasl" "$tls"
        for k in $(all_nodes "$DIR"); do format_node "$DIR" "$k" "$sasl"; done
    fi
    if [ -n "$node" ]; then nodes=("$node"); else read -r -a nodes <<<"$(all_nodes "$DIR" | tr '\n' ' ')"; fi
    for k in "${nodes[@]}"; do start_node "$DIR" "$k"; done
    wait_ready "$DIR" "${nodes[@]}"
    cat "$DIR/bootstrap"
    ;;
stop)
    [ -f "$DIR/cluster.env" ] || exit 0
    if [ -n "$node" ]; then nodes=("$node"); else read -r -a nodes <<<"$(all_nodes "$DIR" | tr '\n' ' ')"; fi
    stop_nodes "$DIR" "$sig" "${nodes[@]}"
    ;;
status)
    [ -f "$DIR/cluster.env" ] || die "$DIR holds no broker"
    # shellcheck disable=SC1091
    . "$DIR/cluster.env"
    IFS=, read -r -a addrs <<<"$BOOTSTRAP"
    for k in $(all_nodes "$DIR"); do
        if pid="$(node_pid "$DIR" "$k")"; then state="up $pid"; else state=down; fi
        echo "$k ${addrs[$((k - 1))]} $state"
    done
    ;;
*) die "unknown command $cmd" ;;
esac
