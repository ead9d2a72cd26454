#!/usr/bin/env bash
# End-to-end tests of the `sparrow` CLI: results on the real model and clear errors for bad
# flags and files. Usage: cli_test.sh PATH_TO_sparrow SHARED_DIR
set -uo pipefail
sparrow="$(realpath "$1")"  # absolute: some tests run in a folder of their own
shared="$(realpath "$2")"
model="$shared/models/yolov5n.onnx"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=../support/expect.sh
source "$(dirname "$0")/../support/expect.sh"

expect_ok help "$sparrow" --help
expect_fail batch_zero "batch-size" "$sparrow" benchmark "$model" --batch-size 0
expect_fail batch_absurd "batch-size" "$sparrow" benchmark "$model" --batch-size 100000000
expect_fail cores_zero "num-cores" "$sparrow" benchmark "$model" --num-cores 0
expect_fail bad_scenario "scenario" "$sparrow" benchmark "$model" --scenario sideways
expect_fail missing_model "does not exist" "$sparrow" benchmark /nonexistent/model.onnx
printf 'not a model' >"$work/garbage.onnx"
expect_fail garbage_model "not a valid ONNX" "$sparrow" describe "$work/garbage.onnx"
expect_fail unknown_command "unknown command 'frobnicate'; the commands are benchmark, run, describe, detect, eval, compress" \
  "$sparrow" frobnicate

expect_ok benchmark_json "$sparrow" benchmark "$model" --time 1 --warmup 0.2 --export-json "$work/bench.json"
check_py benchmark_fields "
import json; r = json.load(open('$work/bench.json'))
for k in ['items_per_second','ms_per_batch','batch_times_mean','batch_times_median','batch_times_std','p50','p90','p95','p99','p99_9','iterations']:
    assert k in r, k
assert r['iterations'] > 0 and r['items_per_second'] > 0, r
assert r['layers'] > 60 and r['int8_layers'] == 0 and r['sparse_layers'] == 0, r
assert abs(r['items_per_second'] - r['batch_size'] * 1000 / r['ms_per_batch']) < 1e-3 * r['items_per_second'], r"
expect_ok benchmark_async "$sparrow" benchmark "$model" --time 1 --warmup 0 --scenario async --num-streams 2
# OMP_PROC_BIND pins libgomp's initial thread to one core as it starts: the team must still be
# every core the process may use, as without it.
expect_ok benchmark_proc_bind sh -c "OMP_PROC_BIND=true '$sparrow' benchmark '$model' --time 0.2 --warmup 0 --export-json '$work/bound.json'"
check_py benchmark_proc_bind_cores "
import json; a = json.load(open('$work/bench.json')); b = json.load(open('$work/bound.json'))
assert a['num_cores'] == b['num_cores'], (a['num_cores'], b['num_cores'])"

expect_ok run_image "$sparrow" run "$model" -i "$shared/data/images/bus.jpg" -o "$work/out"
check_py run_image_output "
import numpy as np; y = np.load('$work/out/output.npy')
assert y.shape == (1, 25200, 85) and y.dtype == np.float32, y.shape
assert np.isfinite(y).all() and (y[..., 4] > 0.5).any()"
/usr/bin/python3 -c "import numpy as np; np.save('$work/x.npy', np.random.default_rng(0).random((1,3,640,640), dtype=np.float32))"
expect_ok run_npy "$sparrow" run "$model" -i "$work/x.npy" -o "$work/out_npy"
check_py run_npy_output "import numpy as np; assert np.load('$work/out_npy/output.npy').shape == (1, 25200, 85)"
expect_fail run_output_is_a_file "cannot create output folder '.*/x.npy': a file of that name is in the way" \
  "$sparrow" run "$model" -i "$work/x.npy" -o "$work/x.npy"
/usr/bin/python3 -c "import numpy as np; np.save('$work/wrong.npy', np.zeros((1,3,320,320), dtype=np.float32))"
expect_fail run_wrong_shape "1x3x640x640" "$sparrow" run "$model" -i "$work/wrong.npy"
head -c 100 "$work/x.npy" >"$work/truncated.npy"
expect_fail run_truncated_npy "truncated|data bytes" "$sparrow" run "$model" -i "$work/truncated.npy"
expect_fail run_not_an_image "not a JPEG, PNG, BMP or WebP" "$sparrow" run "$model" -i "$work/garbage.onnx"
expect_fail run_mixed_inputs "not both" "$sparrow" run "$model" -i "$work/x.npy" "$shared/data/images/bus.jpg"
# Files are written only where a flag names them (run -o, eval --results-json, detect --out,
# benchmark --export-json): never into the working directory unasked.
mkdir "$work/cwd"
expect_ok run_unasked sh -c "cd '$work/cwd' && '$sparrow' run '$model' -i '$shared/data/images/bus.jpg' > '$work/run.txt'"
check_py run_unasked_describes_outputs "
t = open('$work/run.txt').read(); assert t == 'output: float32 1x25200x85\\n', t"

expect_ok describe_profile "$sparrow" describe "$model" --profile --iterations 2
# The model's path first; each column starts where its heading does, however long its entries
# (kernel names run to "f32-conv-onednn:brgconv_1x1:avx512_core").
expect_ok describe_text sh -c "'$sparrow' describe '$model' > '$work/describe.txt'"
check_py describe_columns_aligned "
lines = open('$work/describe.txt').read().splitlines()
assert lines[0] == 'Model: $model', lines[0]
heading = lines[2]
rows = [l for l in lines[3:] if l[:4].strip().isdigit()]
assert len(rows) > 60, len(rows)
for name in ('kernel', 'layout', 'output'):
    at = heading.index(' ' + name + ' ') + 1
    for row in rows:
        assert row[at - 1] == ' ' and row[at] != ' ', (name, row)"
dynamic="$shared/models/yolov5n-dynamic.onnx"
expect_ok describe_dynamic sh -c "'$sparrow' describe '$dynamic' --image-size 320 --batch-size 2 > '$work/dyn320.txt'"
check_py describe_dynamic_size "t = open('$work/dyn320.txt').read(); assert ' 2x6300x85 ' in t, t"
# Without --image-size a dynamic export compiles at ultralytics' 640 in every command, and the
# log says so.
default_size="compiling for 640x640, ultralytics' default"
expect_ok describe_dynamic_default_size sh -c "'$sparrow' describe '$dynamic' > '$work/dyn.txt' 2> '$work/dyn.err'"
check_py describe_dynamic_default_size_logged "
outputs = [l for l in open('$work/dyn.txt').read().splitlines() if l.startswith('Outputs: ')]
assert len(outputs) == 1 and outputs[0].endswith(' float32 1x25200x85'), outputs
err = open('$work/dyn.err').read(); assert \"$default_size\" in err, err"
expect_ok detect_dynamic_default_size sh -c "'$sparrow' detect '$dynamic' '$shared/data/images/bus.jpg' --json > '$work/dyn.json'"
check_py detect_dynamic_default_size_boxes "
import json; d = json.load(open('$work/dyn.json'))[0]['detections']
assert sorted(x['class_name'] for x in d) == ['bus', 'person', 'person', 'person'], d"
expect_ok run_dynamic_default_size sh -c "'$sparrow' run '$dynamic' -i '$shared/data/images/bus.jpg' > '$work/dyn_run.txt'"
check_py run_dynamic_default_size_output "t = open('$work/dyn_run.txt').read(); assert t == 'output: float32 1x25200x85\\n', t"
expect_ok benchmark_dynamic_default_size "$sparrow" benchmark "$dynamic" --time 0.2 --warmup 0
# Refused by name before any kernel is made (that took 13 s of CPU); more than any machine here has.
expect_fail describe_absurd_input "input 'images' \(1x3x100000x100000 float32\) takes 111.76 GiB" \
  "$sparrow" describe "$shared/models/yolov5n-dynamic.onnx" --input-shape images=1x3x100000x100000

# The environment variables that force kernel paths name what is wrong with them.
expect_fail bad_isa "SPARROW_ISA=avx9000: not an instruction set Sparrow knows; use one of scalar, avx2" \
  env SPARROW_ISA=avx9000 "$sparrow" describe "$model"
expect_fail bad_kernels "SPARROW_KERNELS: 'f32-cnov' matches no kernel" env SPARROW_KERNELS=f32-cnov "$sparrow" describe "$model"
# A forced ISA is logged, and the plan reports it; forcing one row leaves the rest on reference kernels.
expect_ok forced_isa sh -c "SPARROW_ISA=avx2 '$sparrow' describe '$model' > '$work/avx2.txt' 2> '$work/avx2.err'"
check_py forced_isa_logged "
assert 'kernels for avx2' in open('$work/avx2.err').read()
assert 'ISA avx2 (SPARROW_ISA) (oneDNN avx2)' in open('$work/avx2.txt').read()"
expect_ok forced_row sh -c "SPARROW_KERNELS=f32-conv-onednn '$sparrow' describe '$model' > '$work/conv_only.txt'"
check_py forced_row_only "
rows = [l.split() for l in open('$work/conv_only.txt').read().splitlines()[3:] if l[:4].strip().isdigit()]
kernels = {r[2].split(':')[0] for r in rows}
assert {'f32-conv-onednn', 'reference'} <= kernels <= {'f32-conv-onednn', 'reference', 'x-reorder-onednn', 'x-copy-memcpy'}, kernels"
# A plan with reference kernels says so when benchmarked, naming layers; an optimised one does not.
expect_ok reference_warning sh -c "SPARROW_KERNELS=f32-conv-onednn '$sparrow' benchmark '$model' --time 0.2 --warmup 0 > /dev/null 2> '$work/ref_warning.txt'"
check_py reference_warning_names_layers "
t = open('$work/ref_warning.txt').read()
assert 'warning:' in t and 'layers run on the reference kernels' in t and '/model.' in t, t"
expect_ok no_reference_warning sh -c "'$sparrow' benchmark '$model' --time 0.2 --warmup 0 > /dev/null 2> '$work/no_warning.txt'"
check_py no_reference_warning_when_optimised "
t = open('$work/no_warning.txt').read()
assert 'reference kernels' not in t, t"

expect_ok detect_json sh -c "'$sparrow' detect '$model' '$shared/data/images/bus.jpg' --json > '$work/det.json'"
check_py detect_json_fields "
import json; r = json.load(open('$work/det.json'))
d = r[0]['detections']
assert r[0]['width'] == 810 and r[0]['height'] == 1080, r[0]
assert sorted(x['class_name'] for x in d) == ['bus', 'person', 'person', 'person'], d
assert all(len(x['box']) == 4 and 0 < x['score'] <= 1 for x in d), d"
expect_ok detect_annotated "$sparrow" detect "$shared/data/images" --out "$work/annotated" --classes 0
check_py detect_annotated_files "import os; assert sorted(os.listdir('$work/annotated')) == ['bus.jpg', 'zidane.jpg']"
expect_fail detect_out_is_a_file "cannot create output folder '.*/x.npy/sub': Not a directory" \
  "$sparrow" detect "$shared/data/images/bus.jpg" --out "$work/x.npy/sub"
cp "$shared/data/images/bus.jpg" "$work/good.jpg"
printf 'GIF89a not really' >"$work/bad.jpg"
expect_fail detect_bad_image "bad.jpg.*not a JPEG" "$sparrow" detect "$work/good.jpg" "$work/bad.jpg"
head -c 20000 "$shared/data/images/bus.jpg" >"$work/truncated.jpg"
expect_fail detect_truncated_jpeg "truncated" "$sparrow" detect "$work/truncated.jpg"
expect_fail detect_missing_file_named_once "^sparrow: $work/missing.jpg: no such image file$" \
  "$sparrow" detect "$model" "$work/missing.jpg"
expect_fail detect_pixel_limit "above the .* limit" "$sparrow" detect "$work/good.jpg" --max-pixels 1000
expect_fail detect_bad_conf "conf" "$sparrow" detect "$work/good.jpg" --conf 1.5

# A tiny dataset: one labelled image, one malformed label line.
mkdir -p "$work/ds/images" "$work/ds/labels"
cp "$shared/data/images/bus.jpg" "$work/ds/images/1.jpg"
printf 'val: images\nnames: [person, bicycle, car, motorcycle, airplane, bus]\n' >"$work/ds/data.yaml"
printf '5 0.53 0.47 0.94 0.5\n' >"$work/ds/labels/1.txt"
expect_fail eval_class_count_mismatch "predicts 80 classes.* names 6" "$sparrow" eval "$model" --data "$work/ds"
sed -e 's/^path: .*/path: ./' -e 's|^val: .*|val: images|' "$shared/data/coco128/data.yaml" >"$work/ds/data.yaml"
printf '5 0.5 0.47 0.94 0.5\n0 0.17 0.6 0.19\n' >"$work/ds/labels/1.txt"
expect_fail eval_malformed_label "1.txt' line 2" "$sparrow" eval "$model" --data "$work/ds"
printf '5 0.53 0.47 0.94 0.5\n0 0.16 0.6 0.19 0.46\n' >"$work/ds/labels/1.txt"
expect_ok eval_yolo_labels sh -c "'$sparrow' eval '$model' --data '$work/ds' --results-json '$work/r.json' -x '$work/eval.json' > '$work/eval.txt' 2>/dev/null"
check_py eval_report "
t = open('$work/eval.txt').read(); assert 'Ground truth: YOLO labels' in t and 'maxDets=100 ] =' in t, t
import json, re; assert len(json.load(open('$work/r.json'))) > 0
s = json.load(open('$work/eval.json')); assert s['images'] == 1, s
printed = float(re.search(r'IoU=0.50:0.95 \\| area=   all \\| maxDets=100 \\] = ([0-9.]+)', t).group(1))
assert 0 < s['ap50_95'] <= s['ap50'] and abs(s['ap50_95'] - printed) <= 0.0005, (s, printed)"
expect_fail eval_no_dataset "data.yaml" "$sparrow" eval "$model" --data "$work/nowhere"
expect_ok eval_unasked sh -c "cd '$work/cwd' && '$sparrow' eval '$model' --data '$work/ds' > '$work/eval_unasked.txt' 2>/dev/null"
check_py eval_unasked_reports "t = open('$work/eval_unasked.txt').read(); assert 'maxDets=100 ] =' in t and 'written' not in t, t"
expect_ok eval_dynamic_default_size "$sparrow" eval "$dynamic" --data "$work/ds"
check_py nothing_written_unasked "import os; assert os.listdir('$work/cwd') == [], os.listdir('$work/cwd')"

# compress --int8: errors first, then a 4-image calibration whose file detects what FP32 detects.
mkdir -p "$work/no_images"
expect_fail compress_nothing_to_do "nothing to do: give --sparsity S, --int8 or both" "$sparrow" compress "$model" -o "$work/q.onnx"
expect_fail compress_no_output "output" "$sparrow" compress "$model" --int8
expect_fail compress_empty_calibration "no_images' holds no images" \
  "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration "$work/no_images"
expect_fail compress_missing_calibration "nowhere' does not exist" \
  "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration "$work/nowhere"
# An output that cannot be written fails before the work (minutes of it, for compress), saying why.
expect_fail compress_output_folder_missing "cannot write '.*/nowhere/q.onnx': no folder '.*/nowhere'" \
  "$sparrow" compress "$model" -o "$work/nowhere/q.onnx" --int8
expect_fail compress_output_is_a_folder "cannot write '.*/no_images': it is a folder" \
  "$sparrow" compress "$model" -o "$work/no_images" --sparsity 0.5
expect_fail benchmark_json_folder_missing "cannot write '.*/nowhere/b.json': no folder" \
  "$sparrow" benchmark "$model" --time 30 --export-json "$work/nowhere/b.json"
expect_fail eval_json_folder_missing "cannot write '.*/nowhere/e.json': no folder" \
  "$sparrow" eval "$model" --data "$work/ds" -x "$work/nowhere/e.json"
# An image that does not decode is skipped with a warning naming it; too few left is an error.
mkdir -p "$work/some_broken"
cp "$shared/data/images/bus.jpg" "$work/some_broken/a.jpg"
cp "$shared/data/images/zidane.jpg" "$work/some_broken/b.jpg"
printf 'not an image' >"$work/some_broken/0_broken.jpg"
expect_fail compress_too_few_decodable "only 2 image\(s\) in calibration folder .*some_broken' decode \(1 skipped\); at least 3 are needed" \
  "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration "$work/some_broken" --calibration-images 3
expect_ok compress_skips_undecodable sh -c "'$sparrow' compress '$model' -o '$work/q_skip.onnx' --int8 --calibration '$work/some_broken' --calibration-images 2 2> '$work/skip_err.txt'"
check_py compress_skip_warning "
t = open('$work/skip_err.txt').read()
assert 'warning: skipping calibration image: $work/some_broken/0_broken.jpg: not a JPEG' in t, t
import onnx, json
meta = {p.key: p.value for p in onnx.load('$work/q_skip.onnx').metadata_props}
assert json.loads(meta['sparrow.compression'])['calibration_images'] == 2, meta"
expect_fail compress_bad_method "calibration-method" "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration-method kmeans
expect_fail compress_zero_images "calibration-images" "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration-images 0
expect_fail compress_unknown_exclude "no node named 'nope' to exclude" \
  "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration-images 2 --exclude nope
expect_fail compress_exclude_glob_matches_nothing "no node name matches '/model.9\[0-9\]/\*' to exclude" \
  "$sparrow" compress "$model" -o "$work/q.onnx" --int8 --calibration-images 2 --exclude '/model.9[0-9]/*'
expect_ok compress_int8 sh -c "'$sparrow' compress '$model' -o '$work/q.onnx' --int8 --calibration-images 4 -v > '$work/compress.txt' 2> '$work/compress_err.txt'"
check_py compress_report "
t = open('$work/compress.txt').read(); e = open('$work/compress_err.txt').read()
assert 'INT8 QDQ (opset 13)' in t and 'smaller' in t, t
assert '3 convolutions on float activations (3 of them on s8 weights)' in t, t  # the Detect head
assert 'calibrating' in e and '/model.0/conv/Conv_output_0' in e, e[-500:]"
expect_fail compress_twice "quantized already" "$sparrow" compress "$work/q.onnx" -o "$work/q2.onnx" --int8 --calibration-images 2
expect_ok detect_int8 sh -c "'$sparrow' detect '$work/q.onnx' '$shared/data/images/bus.jpg' --json > '$work/det_int8.json'"
expect_ok describe_json_int8 sh -c "'$sparrow' describe '$work/q.onnx' --json > '$work/describe_int8.json'"
check_py describe_json_int8_fields "
import json; d = json.load(open('$work/describe_int8.json'))
assert all(set(l) == {'name', 'op', 'kernel', 'dtype', 'sparsity', 'block_sparsity'} for l in d['layers']), d['layers'][0]
convs = [l for l in d['layers'] if l['op'] == 'QLinearConv']
assert len(convs) >= 50 and all(l['dtype'] == 'qu8' and 0 <= l['sparsity'] < 1 for l in convs), convs[:2]
assert d['int8_layers'] >= len(convs) and d['sparse_layers'] == 0, d['int8_layers']"
check_py detect_int8_same_objects "
import json; d = json.load(open('$work/det_int8.json'))[0]['detections']
assert sorted(x['class_name'] for x in d) == ['bus', 'person', 'person', 'person'], d"

# compress --sparsity: magnitude pruning, alone (no calibration images) and with --int8.
/usr/bin/python3 -c "
import onnx; from onnx import helper, TensorProto
v = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 8, 8])
g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g', [v('x')], [v('y')])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), '$work/no_conv.onnx')"
expect_fail compress_sparsity_one "sparsity 1 is outside \[0, 1\)" "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 1
expect_fail compress_sparsity_negative "sparsity -0.2 is outside \[0, 1\)" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity -0.2
expect_fail compress_bad_block "block 3 is not supported: 1 \(any weight\) or 4" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --block 3
expect_fail compress_block_without_sparsity "\-\-block needs \-\-sparsity" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --int8 --block 4
expect_fail compress_unknown_method "unknown pruning method 'optimal' \(magnitude, obs or lowrank\)" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --method optimal
expect_fail compress_seed_without_obs "\-\-seed needs \-\-method obs or lowrank" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --seed 3
expect_fail compress_unknown_allocation "unknown sparsity allocation 'greedy' \(uniform or sensitivity\)" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --method obs --allocation greedy
expect_fail compress_sensitivity_without_obs "\-\-allocation sensitivity needs \-\-method obs" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --allocation sensitivity
expect_fail compress_allocation_without_sparsity "\-\-allocation needs \-\-sparsity" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --int8 --allocation uniform
expect_fail compress_obs_missing_calibration "nowhere' does not exist" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --method obs --calibration "$work/nowhere"
expect_fail compress_obs_empty_calibration "no_images' holds no images" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --method obs --calibration "$work/no_images"
expect_ok compress_obs sh -c "'$sparrow' compress '$model' -o '$work/obs.onnx' --sparsity 0.5 --block 4 --method obs --allocation uniform --calibration-images 2 -v > '$work/obs.txt' 2> '$work/obs_err.txt'"
check_py compress_obs_report "
import onnx, json
t = open('$work/obs.txt').read(); e = open('$work/obs_err.txt').read()
assert 'pruned to 50.0 % (obs, uniform, blocks of 4 input channels), 4 kept dense' in t, t
assert 'error ' in e and '(magnitude ' in e and 'sensitivity ' not in e, e[:500]
m = onnx.load('$work/obs.onnx')
meta = json.loads({p.key: p.value for p in m.metadata_props}['sparrow.compression'])['pruning']
assert meta['method'] == 'obs' and meta['calibration_images'] == 2 and meta['seed'] == 0, meta
assert meta['allocation'] == 'uniform', meta"
# compress --method lowrank: each 1x1 conv (but the first and the Detect head) becomes two.
/usr/bin/python3 -c "
import onnx, numpy as np; from onnx import helper, numpy_helper, TensorProto
w = lambda n, k: numpy_helper.from_array(np.ones((4, 4, k, k), np.float32), n)
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4, 8, 8])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, None)
nodes = [helper.make_node('Conv', ['x', 'w1'], ['a'], name='first', pads=[1, 1, 1, 1]),
         helper.make_node('Conv', ['a', 'w2'], ['b'], name='three', pads=[1, 1, 1, 1]),
         helper.make_node('Conv', ['b', 'w3'], ['y'], name='head')]
g = helper.make_graph(nodes, 'g', [x], [y], [w('w1', 3), w('w2', 3), w('w3', 1)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), '$work/no_1x1.onnx')"
expect_fail compress_lowrank_no_1x1 "no Conv to factor: every one is kept as it is \(1 Detect head, 1 first conv, 1 not a 1x1 conv\)" \
  "$sparrow" compress "$work/no_1x1.onnx" -o "$work/p.onnx" --sparsity 0.5 --method lowrank --calibration-images 2
# obs's default, sensitivity allocation, on the one conv of that model that it prunes (the
# unit tests cover several layers; on yolov5n it costs a model run per conv).
/usr/bin/python3 -c "
import onnx, numpy as np; from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(0)
w = lambda n, o, i, k: numpy_helper.from_array(r.standard_normal((o, i, k, k)).astype(np.float32), n)
x = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 32, 32])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4, 32, 32])
nodes = [helper.make_node('Conv', ['images', 'w1'], ['a'], name='first', pads=[1, 1, 1, 1]),
         helper.make_node('Conv', ['a', 'w2'], ['b'], name='middle', pads=[1, 1, 1, 1]),
         helper.make_node('Conv', ['b', 'w3'], ['y'], name='head')]
g = helper.make_graph(nodes, 'g', [x], [y], [w('w1', 8, 3, 3), w('w2', 8, 8, 3), w('w3', 4, 8, 1)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), '$work/three_convs.onnx')"
expect_ok compress_obs_sensitivity sh -c "'$sparrow' compress '$work/three_convs.onnx' -o '$work/obs_s.onnx' --sparsity 0.5 --method obs --calibration-images 2 -v > '$work/obs_s.txt' 2> '$work/obs_s_err.txt'"
check_py compress_obs_sensitivity_report "
import onnx, json
t = open('$work/obs_s.txt').read(); e = open('$work/obs_s_err.txt').read()
assert 'pruned to 50.0 % (obs, sensitivity, unstructured), 2 kept dense' in t, t
assert 'sensitivity ' in e, e[:500]
meta = json.loads({p.key: p.value for p in onnx.load('$work/obs_s.onnx').metadata_props}['sparrow.compression'])['pruning']
assert meta['allocation'] == 'sensitivity', meta"
expect_fail compress_lowrank_empty_calibration "no_images' holds no images" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --method lowrank --calibration "$work/no_images"
expect_fail compress_lowrank_sparsity_one "sparsity 1 is outside \[0, 1\)" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 1 --method lowrank --calibration-images 2
expect_fail compress_lowrank_block "\-\-block is for pruning \(magnitude, obs\), not \-\-method lowrank" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --method lowrank --block 4
expect_ok compress_lowrank sh -c "'$sparrow' compress '$model' -o '$work/lr.onnx' --sparsity 0.5 --method lowrank --calibration-images 2 -v > '$work/lr.txt' 2> '$work/lr_err.txt'"
check_py compress_lowrank_report "
import onnx, json
t = open('$work/lr.txt').read(); e = open('$work/lr_err.txt').read()
assert '1x1 convolutions factored (lowrank), ' in t, t
assert 'factored, rank ' in e and '(weight SVD ' in e and 'dense: not a 1x1 conv' in e, e[:500]
m = onnx.load('$work/lr.onnx'); dense = onnx.load('$model')
meta = json.loads({p.key: p.value for p in m.metadata_props}['sparrow.compression'])['pruning']
assert meta['method'] == 'lowrank' and meta['calibration_images'] == 2 and meta['achieved_sparsity'] >= 0.5, meta
convs = lambda g: sum(n.op_type == 'Conv' for n in g.node)
assert convs(m.graph) == convs(dense.graph) + meta['factored_convs'] and meta['factored_convs'] > 20, meta
assert len({n.name for n in m.graph.node}) == len(m.graph.node)"
expect_ok detect_lowrank "$sparrow" detect "$work/lr.onnx" "$shared/data/images/bus.jpg" --json
expect_fail compress_calibration_without_int8 "\-\-calibration-images needs \-\-int8, \-\-method obs or \-\-method lowrank" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --calibration-images 4
expect_fail compress_no_conv "has no Conv to prune" "$sparrow" compress "$work/no_conv.onnx" -o "$work/p.onnx" --sparsity 0.5
expect_fail compress_prune_unknown_exclude "no node named 'nope' to exclude" \
  "$sparrow" compress "$model" -o "$work/p.onnx" --sparsity 0.5 --exclude nope
expect_fail compress_prune_quantized "quantized already" "$sparrow" compress "$work/q.onnx" -o "$work/p.onnx" --sparsity 0.5
expect_ok compress_prune sh -c "'$sparrow' compress '$model' -o '$work/p.onnx' --sparsity 0.5 -v > '$work/prune.txt' 2> '$work/prune_err.txt'"
check_py compress_prune_report "
t = open('$work/prune.txt').read(); e = open('$work/prune_err.txt').read()
assert 'pruned to 50.0 % (magnitude, uniform, unstructured), 4 kept dense' in t, t
assert 'calibrating' not in e, e[-300:]
assert '/model.0/conv/Conv' in e and 'dense: first conv' in e and 'dense: Detect head' in e, e[:500]"
check_py compress_prune_file "
import onnx, json, numpy as np
from onnx import numpy_helper
m = onnx.load('$work/p.onnx'); w = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
convs = [n for n in m.graph.node if n.op_type == 'Conv']
sparsity = {n.name: float((w[n.input[1]] == 0).mean()) for n in convs}
dense = [k for k, v in sparsity.items() if v < 0.01]
assert sorted(dense) == ['/model.0/conv/Conv', '/model.24/m.0/Conv', '/model.24/m.1/Conv', '/model.24/m.2/Conv'], dense
assert all(abs(v - 0.5) < 0.001 for k, v in sparsity.items() if k not in dense), sparsity
meta = json.loads({p.key: p.value for p in m.metadata_props}['sparrow.compression'])['pruning']
assert meta['method'] == 'magnitude' and meta['sparsity_target'] == 0.5 and meta['block'] == 1, meta
assert abs(meta['achieved_sparsity'] - 0.5) < 0.001 and meta['pruned_convs'] == len(convs) - 4, meta"
expect_ok compress_prune_block_int8 "$sparrow" compress "$model" -o "$work/p4q.onnx" --sparsity 0.5 --block 4 --int8 --calibration-images 4
expect_ok describe_json_pruned_int8 sh -c "'$sparrow' describe '$work/p4q.onnx' --json > '$work/describe_p4q.json'"
check_py describe_json_pruned_int8_sparsity "
import json; d = json.load(open('$work/describe_p4q.json'))
convs = [l for l in d['layers'] if l['dtype'] == 'qu8' and l['op'] == 'QLinearConv']
# Every pruned zero stays zero; rounding to s8 zeroes a few more small weights.
half = [l for l in convs if 0.5 <= l['sparsity'] < 0.55]
assert len(convs) >= 50 and len(half) == len(convs) - 1, [(l['name'], l['sparsity']) for l in convs]"
expect_ok detect_pruned_int8 "$sparrow" detect "$work/p4q.onnx" "$shared/data/images/bus.jpg" --json
# The same file with every INT8 conv on the sparse rows (forced) and on none: the same detections,
# to the last digit (the sparse kernels are bit-exact to the dense INT8 path).
expect_ok detect_pruned_int8_sparse_rows sh -c "SPARROW_SPARSE_MIN_SPEEDUP=0 SPARROW_KERNELS=-qu8-conv-onednn,-sparse-conv-f32-* \
  '$sparrow' describe '$work/p4q.onnx' --json > '$work/describe_p4q_sparse.json' &&
  SPARROW_SPARSE_MIN_SPEEDUP=0 SPARROW_KERNELS=-qu8-conv-onednn,-sparse-conv-f32-* \
  '$sparrow' detect '$work/p4q.onnx' '$shared/data/images/bus.jpg' --json --conf 0.001 > '$work/det_sparse.json' &&
  SPARROW_KERNELS=-sparse-* '$sparrow' detect '$work/p4q.onnx' '$shared/data/images/bus.jpg' --json --conf 0.001 > '$work/det_dense.json'"
check_py detect_pruned_int8_sparse_equals_dense "
import json; d = json.load(open('$work/describe_p4q_sparse.json'))
assert d['sparse_layers'] >= 50, d['sparse_layers']
a, b = open('$work/det_sparse.json').read(), open('$work/det_dense.json').read()
assert len(json.loads(a)[0]['detections']) > 0 and a == b, (a[:300], b[:300])"

if ((failures)); then
  echo "$failures CLI test(s) failed"
  exit 1
fi
echo "all CLI tests passed"
