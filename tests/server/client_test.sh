#!/usr/bin/env bash
# End-to-end tests of `sparrow-client` against a real sparrow-server: detections match the
# in-process CLI, benchmark and load reports are consistent, errors are clear and non-zero, TLS
# works, and the server exits 0 on SIGTERM.
# Usage: client_test.sh PATH_TO_sparrow-server PATH_TO_sparrow-client PATH_TO_sparrow SHARED_DIR
set -uo pipefail
server="$1"
client="$2"
sparrow="$3"
shared="$4"
model="$shared/models/yolov5n.onnx"
bus="$shared/data/images/bus.jpg"
work="$(mktemp -d)"
server_pids=()
cleanup() {
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../support/expect.sh
source "$(dirname "$0")/../support/expect.sh"

# start_server LOG ARGS...: starts the server on a free port; sets $port and $pid once it listens.
start_server() {
  local log="$1"
  shift
  "$server" --port 0 --metrics-port -1 --model "$model" "$@" 2>"$log" &
  pid=$!
  server_pids+=("$pid")
  port=""
  for _ in $(seq 600); do
    port="$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\) .*/\1/p' "$log")"
    [[ -n "$port" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL server did not start:"; cat "$log"; exit 1
}

# stop_server PID NAME: SIGTERM, then the server must exit 0 within 60 s.
stop_server() {
  local p="$1" name="$2"
  kill -TERM "$p"
  for _ in $(seq 600); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    echo "FAIL $name: still running 60 s after SIGTERM"; failures=$((failures + 1)); kill -KILL "$p"; return
  fi
  wait "$p"
  local rc=$?
  if ((rc != 0)); then echo "FAIL $name: exit status $rc"; failures=$((failures + 1)); return; fi
  echo "ok   $name"
}

start_server "$work/server.log"
c=("$client" --server "localhost:$port")
expect_ok health_wait "${c[@]}" health --wait 60
expect_ok health_service "${c[@]}" health --service sparrow.v1.Detection

# Detections: the same as the in-process CLI's, within half a pixel.
"$sparrow" detect "$model" "$bus" --json >"$work/local.json" 2>/dev/null
expect_ok detect_json sh -c "'${c[0]}' --server localhost:$port detect '$bus' --json > '$work/remote.json'"
check_py detect_matches_cli "
import json
local = json.load(open('$work/local.json'))[0]
remote = json.load(open('$work/remote.json'))[0]
assert (remote['width'], remote['height']) == (810, 1080), remote
key = lambda d: (d['class_name'], d['box'][0])
a, b = sorted(local['detections'], key=key), sorted(remote['detections'], key=key)
assert [d['class_name'] for d in a] == [d['class_name'] for d in b], (a, b)
for x, y in zip(a, b):
    assert all(abs(p - q) <= 0.5 for p, q in zip(x['box'], y['box'])), (x, y)
    assert abs(x['score'] - y['score']) < 0.01 and x['class_id'] == y['class_id'], (x, y)
t = remote['timings']
assert all(t[k] >= 0 for k in ['preprocess_ms', 'queue_ms', 'inference_ms', 'postprocess_ms']) and t['inference_ms'] > 0, t"
expect_ok detect_text sh -c "'${c[0]}' --server localhost:$port detect '$bus' > '$work/remote.txt'"
check_py detect_text_format "
lines = open('$work/remote.txt').read().splitlines()
assert lines[0].endswith('bus.jpg (810x1080): 4 detection(s)'), lines
assert len(lines) == 5 and all(l.startswith('  ') and ' x1 ' in l for l in lines[1:]), lines"
expect_ok detect_batch_annotated sh -c "'${c[0]}' --server localhost:$port detect '$shared/data/images' --batch 2 \
  --classes 0 --json --out '$work/annotated' > '$work/batch.json'"
check_py detect_batch_results "
import json, os
r = json.load(open('$work/batch.json'))
assert [os.path.basename(x['image']) for x in r] == ['bus.jpg', 'zidane.jpg'], r
assert all(d['class_name'] == 'person' for x in r for d in x['detections']), r
assert sorted(os.listdir('$work/annotated')) == ['bus.jpg', 'zidane.jpg']"

# Benchmark: the server's engine, the CLI's JSON field names, consistent numbers.
expect_ok benchmark "${c[@]}" benchmark --time 1 --warmup 0.2 --json "$work/bench.json"
check_py benchmark_fields "
import json; r = json.load(open('$work/bench.json'))
for k in ['items_per_second','ms_per_batch','batch_times_mean','batch_times_median','batch_times_std','p50','p90','p95','p99','p99_9','iterations','seconds_ran','batch_size','num_streams','num_cores','isa']:
    assert k in r, k
assert r['iterations'] > 0 and r['num_streams'] == 1, r
expected = r['batch_size'] * 1000 / r['batch_times_mean']
assert abs(r['items_per_second'] - expected) <= 0.1 * expected, (r['items_per_second'], expected)"

# Load: every level reported, every request counted once, no errors.
expect_ok load "${c[@]}" load --concurrency 1,4 --duration 2 --warmup 0.5 --csv "$work/load.csv" --json "$work/load.json"
check_py load_csv "
import csv; rows = list(csv.DictReader(open('$work/load.csv')))
assert [r['concurrency'] for r in rows] == ['1', '4'], rows
for r in rows:
    assert int(r['failed']) == 0 and r['errors'] == '', r
    assert int(r['sent']) == int(r['ok']) > 0 and float(r['requests_per_second']) > 0, r
    assert 0 < float(r['p50_ms']) <= float(r['p90_ms']) <= float(r['p99_ms']), r"
check_py load_json "
import json; r = json.load(open('$work/load.json'))
assert r['model'] == 'yolov5n' and r['mode'] == 'detect' and len(r['levels']) == 2, r
assert all(l['latency_ms']['p95'] > 0 and l['errors'] == {} for l in r['levels']), r
assert all(l['server_ms_per_image']['inference'] > 0 for l in r['levels']), r"
expect_ok load_rate "${c[@]}" load --request-rate 4 --duration 1 --warmup 0 --images "$shared/data/images" --images-per-request 2
expect_ok load_infer "${c[@]}" load --mode infer --concurrency 2 --duration 1 --warmup 0

expect_ok models sh -c "'${c[0]}' --server localhost:$port models > '$work/models.txt'"
check_py models_table "
lines = open('$work/models.txt').read().splitlines()
assert lines[0].split()[:2] == ['NAME', 'INPUT'], lines
row = lines[1].split()
assert row[0] == 'yolov5n' and row[1].endswith('x3x640x640') and row[3] == '80' and row[4] == 'yes', row"

# Errors: the gRPC code and the server's message, exit non-zero, no hang.
expect_fail unknown_model "NOT_FOUND.*nope" "${c[@]}" --model nope detect "$bus"
expect_fail unknown_model_models "NOT_FOUND" "${c[@]}" --model nope models
expect_fail unknown_model_load "NOT_FOUND" "${c[@]}" --model nope load --duration 1
printf 'GIF89a not really' >"$work/bad.jpg"
expect_fail not_an_image "INVALID_ARGUMENT: image 0" "${c[@]}" detect "$work/bad.jpg"
expect_fail missing_file "does not exist" "${c[@]}" detect "$work/missing.jpg"
expect_fail unknown_service "NOT_FOUND" "${c[@]}" health --service no.such.Service
expect_fail unreachable "UNAVAILABLE" timeout 30 "$client" --server localhost:1 --timeout 5 detect "$bus"
expect_fail unreachable_health "UNAVAILABLE" timeout 30 "$client" --server localhost:1 --timeout 2 health --wait 1
expect_fail unreachable_load "UNAVAILABLE" timeout 30 "$client" --server localhost:1 --timeout 5 load --duration 1
expect_fail bad_server_address "HOST:PORT" "$client" --server localhost health
expect_fail bad_batch "batch" "${c[@]}" detect --batch 0 "$bus"
expect_fail bad_conf "conf" "${c[@]}" detect --conf 2 "$bus"
expect_fail bad_concurrency "concurrency" "${c[@]}" load --concurrency 0
expect_fail rate_and_concurrency "excludes" "${c[@]}" load --concurrency 1 --request-rate 5
expect_fail bad_mode "mode" "${c[@]}" load --mode sideways
expect_fail shared_memory_needs_infer "needs --mode infer" "${c[@]}" load --shared-memory --duration 1
expect_fail shared_memory_not_allowed "FAILED_PRECONDITION.*--allow-shared-memory" "${c[@]}" load --mode infer \
  --shared-memory --duration 1
expect_fail time_and_iterations "excludes" "${c[@]}" benchmark --time 1 --iterations 3
expect_fail cert_without_key "cert and --key" "${c[@]}" --cert "$work/bad.jpg" health
expect_fail missing_ca "cannot be read" "${c[@]}" --ca "$work/missing.pem" health
expect_fail no_subcommand "subcommand" "$client"
expect_fail unknown_option "" "$client" health --frobnicate

stop_server "$pid" sigterm_exit_0

# Several models from a YAML file, each with its own settings; its server section can allow
# shared memory, and a server flag given beside the file wins over it. A dynamic export given no image_size is served at ultralytics' 640, as the CLI
# runs it, and the log says so.
cat >"$work/models.yaml" <<EOF
server: {allow_shared_memory: true, shutdown_timeout_seconds: 20, max_benchmark_seconds: 30}
models:
  - {name: strict, path: "$model", max_batch_size: 1, conf_threshold: 0.7}
  - {name: loose, path: "$model", max_batch_size: 2, conf_threshold: 0.1}
  - {name: dynamic, path: "$shared/models/yolov5n-dynamic.onnx", max_batch_size: 1}
EOF
start_server "$work/config.log" --config "$work/models.yaml" --max-benchmark-seconds 0
m=("$client" --server "localhost:$port")
expect_ok config_health "${m[@]}" health --wait 60
expect_ok config_models sh -c "'${m[0]}' --server localhost:$port models > '$work/config_models.txt'"
expect_ok config_detect_strict sh -c "'${m[0]}' --server localhost:$port --model strict detect '$bus' --json > '$work/strict.json'"
expect_ok config_detect_loose sh -c "'${m[0]}' --server localhost:$port --model loose detect '$bus' --json > '$work/loose.json'"
expect_fail config_flag_beats_file "turned off on this server" "${m[@]}" --model strict benchmark --time 1
expect_ok config_detect_dynamic sh -c "'${m[0]}' --server localhost:$port --model dynamic detect '$bus' --json > '$work/dynamic.json'"
check_py config_models_have_their_settings "
import json
rows = [l.split() for l in open('$work/config_models.txt').read().splitlines()[1:]]
assert sorted(r[0] for r in rows) == ['dynamic', 'loose', 'strict'], rows
assert [r[1] for r in rows if r[0] == 'dynamic'] == ['1x3x640x640'], rows
assert \"compiling for 640x640, ultralytics' default\" in open('$work/config.log').read()
dynamic = json.load(open('$work/dynamic.json'))[0]['detections']
assert sorted(d['class_name'] for d in dynamic) == ['bus', 'person', 'person', 'person'], dynamic
strict = json.load(open('$work/strict.json'))[0]['detections']
loose = json.load(open('$work/loose.json'))[0]['detections']
assert strict and min(d['score'] for d in strict) >= 0.7, strict
assert min(d['score'] for d in loose) < 0.7 and len(loose) > len(strict), (len(loose), len(strict))"
# Shared memory: every request answered, and the client leaves nothing behind in /dev/shm.
expect_ok load_infer_shared_memory "${m[@]}" --model loose load --mode infer --shared-memory --concurrency 2 \
  --duration 1 --warmup 0 --images-per-request 2 --json "$work/shm.json"
check_py load_infer_shared_memory_json "
import glob, json; r = json.load(open('$work/shm.json'))
level = r['levels'][0]
assert r['mode'] == 'infer' and r['shared_memory'] is True and r['model'] == 'loose', r
assert level['ok'] > 0 and level['failed'] == 0, level
assert not glob.glob('/dev/shm/sparrow-client-*'), glob.glob('/dev/shm/sparrow-client-*')"
stop_server "$pid" config_sigterm_exit_0

# A Unix socket instead of TCP: no port in the address, and no socket file left after shutdown.
sock="$work/sparrow.sock"
"$server" --host "unix:$sock" --metrics-port -1 --model "$model" --max-batch-size 1 2>"$work/unix.log" &
pid=$!
server_pids+=("$pid")
expect_ok unix_socket_health "$client" --server "unix:$sock" health --wait 60
expect_ok unix_socket_detect "$client" --server "unix:$sock" detect "$bus"
check_py unix_socket_logged_and_metrics_on_localhost "
import re, urllib.request
log = open('$work/unix.log').read()
assert 'listening on unix:$sock (gRPC)' in log, log
port = re.search(r'metrics on port (\d+)', log).group(1)
assert 'sparrow_request_total' in urllib.request.urlopen('http://127.0.0.1:' + port + '/metrics', timeout=10).read().decode()"
stop_server "$pid" unix_socket_sigterm_exit_0
check_py unix_socket_removed "import os; assert not os.path.exists('$sock')"

# Config file errors: exit 1 before loading anything, naming the file and the setting.
printf 'models:\n  - {name: a, path: "%s", max_batch: 4}\n' "$model" >"$work/typo.yaml"
expect_fail config_unknown_key "models\[0\]: unknown key 'max_batch'" "$server" --config "$work/typo.yaml"
printf 'models:\n  - {name: a, path: "%s"}\n  - {name: a, path: "%s"}\n' "$model" "$model" >"$work/twice.yaml"
expect_fail config_duplicate_name "model name 'a' is used twice" "$server" --config "$work/twice.yaml"
printf 'models:\n  - {name: a, path: "%s", max_batch_size: 0}\n' "$model" >"$work/range.yaml"
expect_fail config_out_of_range "max_batch_size = 0 is out of range" "$server" --config "$work/range.yaml"
printf 'server: {allow_shared_memory: perhaps}\nmodels: [{name: a}]\n' >"$work/bool.yaml"
expect_fail config_bad_bool "server.allow_shared_memory" "$server" --config "$work/bool.yaml"
printf 'server: {max_connection_idle_seconds: 0}\nmodels: [{name: a}]\n' >"$work/idle.yaml"
expect_fail config_idle_out_of_range "max_connection_idle_seconds must be in \[0.1, 86400\]" "$server" --config "$work/idle.yaml"
printf 'models: [{name: a\n' >"$work/broken.yaml"
expect_fail config_not_yaml "not valid YAML" "$server" --config "$work/broken.yaml"
/usr/bin/python3 -c "
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
w = numpy_helper.from_array(np.full((6, 3, 8, 8), 0.01, np.float32), 'w')
shape = numpy_helper.from_array(np.array([1, 6, 64], np.int64), 'shape')
nodes = [helper.make_node('Cast', ['images'], ['f'], to=T.FLOAT), helper.make_node('Conv', ['f', 'w'], ['c'], strides=[8, 8]),
         helper.make_node('Reshape', ['c', 'shape'], ['r']), helper.make_node('Transpose', ['r'], ['output'], perm=[0, 2, 1])]
g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('images', T.UINT8, [1, 3, 64, 64])],
                      [helper.make_tensor_value_info('output', T.FLOAT, [1, 64, 6])], [w, shape])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), '$work/u8.onnx')"
expect_fail uint8_input_model "takes uint8.*sparrow detect and eval run it" "$server" --port 0 --metrics-port -1 --model "$work/u8.onnx"
expect_fail config_missing "config file '.*nowhere.yaml' cannot be read" "$server" --config "$work/nowhere.yaml"

# Mutual TLS: a client with a certificate from the trusted CA gets in, one without does not.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
make_cert() {  # make_cert NAME SUBJECT_ALT_NAME
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$work/$1.key" -out "$work/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$2" >"$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
    -extfile "$work/$1.ext" -out "$work/$1.pem" 2>/dev/null
}
make_cert localhost DNS:localhost
make_cert client DNS:client
start_server "$work/tls.log" --max-batch-size 1 --tls-cert "$work/localhost.pem" --tls-key "$work/localhost.key" \
  --tls-client-ca "$work/ca.pem"
t=("$client" --server "localhost:$port" --timeout 5)
expect_ok mtls_health "${t[@]}" --tls --ca "$work/ca.pem" --cert "$work/client.pem" --key "$work/client.key" health --wait 60
expect_ok mtls_detect "${t[@]}" --ca "$work/ca.pem" --cert "$work/client.pem" --key "$work/client.key" detect "$bus"
stop_server "$pid" tls_sigterm_exit_0

if ((failures)); then
  echo "$failures client test(s) failed"
  exit 1
fi
echo "all client tests passed"
