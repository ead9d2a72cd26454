#!/usr/bin/env node
// ONNX Runtime (CPU) peer runner for Sparrow's benchmark harness.
//
//   node ort_bench.js MODEL --batch-size B --num-cores C --time SECONDS --warmup SECONDS
//                     --export-json FILE [--image-size 640] [--seed N]
//
// Runs MODEL on a seeded random input in [0, 1) of shape [B, 3, H, W] with one session configured
// like a fair CPU peer (intra-op threads = C, one inter-op thread, sequential execution, all graph
// optimisations), first for --warmup seconds, then for --time seconds recording every batch's wall
// time, and writes the statistics as JSON with the same field names as `sparrow benchmark`.
'use strict';

const fs = require('node:fs');
const { loadOrt, createSession } = require('./session.js');

const ENGINE = 'onnxruntime 1.30.0';

function usage() {
  return 'usage: node ort_bench.js MODEL --batch-size B --num-cores C --time SECONDS ' +
         '--warmup SECONDS --export-json FILE [--image-size 640] [--seed N]';
}

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { model: null, batchSize: 1, numCores: 1, time: 20, warmup: 3, exportJson: null,
                 imageSize: null, seed: 1234 };
  const numeric = {
    '--batch-size': ['batchSize', true], '--num-cores': ['numCores', true],
    '--image-size': ['imageSize', true], '--seed': ['seed', true],
    '--time': ['time', false], '--warmup': ['warmup', false],
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== null) return value;
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '-h' || arg === '--help') {
      console.log(usage());
      process.exit(0);
    } else if (arg in numeric) {
      const [key, integer] = numeric[arg];
      const text = next();
      const v = Number(text);
      if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
        throw new UsageError(`${arg}: expected a ${integer ? 'non-negative integer' : 'number'}, got '${text}'`);
      }
      opts[key] = v;
    } else if (arg === '--export-json') {
      opts.exportJson = next();
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else if (opts.model === null) {
      opts.model = arg;
    } else {
      throw new UsageError(`unexpected argument '${arg}'`);
    }
  }
  if (opts.model === null) throw new UsageError('MODEL is required');
  if (opts.batchSize < 1) throw new UsageError('--batch-size must be at least 1');
  if (opts.numCores < 1) throw new UsageError('--num-cores must be at least 1');
  if (opts.time <= 0) throw new UsageError('--time must be positive');
  if (opts.imageSize !== null && opts.imageSize < 1) throw new UsageError('--image-size must be positive');
  return opts;
}

// mulberry32: a small, well-mixed 32-bit PRNG, so every run sees the same input.
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Percentile with linear interpolation between closest ranks (numpy's default).
function percentile(sorted, q) {
  if (sorted.length === 1) return sorted[0];
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarise(batchTimesMs, secondsRan, opts) {
  const n = batchTimesMs.length;
  const sorted = Float64Array.from(batchTimesMs).sort();
  const mean = batchTimesMs.reduce((s, v) => s + v, 0) / n;
  const variance = batchTimesMs.reduce((s, v) => s + (v - mean) * (v - mean), 0) / n;
  return {
    engine: ENGINE,
    model: opts.model,
    batch_size: opts.batchSize,
    num_cores: opts.numCores,
    iterations: n,
    seconds_ran: secondsRan,
    items_per_second: (n * opts.batchSize) / secondsRan,
    ms_per_batch: (secondsRan * 1000) / n,
    batch_times_mean: mean,
    batch_times_median: percentile(sorted, 50),
    batch_times_std: Math.sqrt(variance),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    p99_9: percentile(sorted, 99.9),
  };
}

// Picks the input shape and checks it against what the model declares, so that a static model asked
// for another batch or size fails here with a message that says what to use instead.
function inputShape(session, opts) {
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  const dims = meta && meta.isTensor && Array.isArray(meta.shape) ? meta.shape : null;
  const fixed = (d) => typeof d === 'number' && d > 0;
  let h = opts.imageSize;
  let w = opts.imageSize;
  if (h === null) {
    h = dims && fixed(dims[2]) ? dims[2] : 640;
    w = dims && fixed(dims[3]) ? dims[3] : 640;
  }
  const shape = [opts.batchSize, 3, h, w];
  if (dims) {
    if (dims.length !== 4) {
      throw new Error(`model input '${session.inputNames[0]}' has rank ${dims.length}; expected [N, 3, H, W]`);
    }
    if (fixed(dims[0]) && dims[0] !== opts.batchSize) {
      throw new Error(`model input '${session.inputNames[0]}' has a static batch of ${dims[0]} ` +
                      `(shape [${dims.join(', ')}]); batch ${opts.batchSize} needs a model exported with ` +
                      'a dynamic batch axis (e.g. yolov5n-dynamic.onnx)');
    }
    for (let i = 1; i < 4; i++) {
      if (fixed(dims[i]) && dims[i] !== shape[i]) {
        throw new Error(`model input '${session.inputNames[0]}' has static shape [${dims.join(', ')}], ` +
                        `which does not fit the requested [${shape.join(', ')}]`);
      }
    }
  }
  return shape;
}

function checkOutputs(outputs, batchSize) {
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims.length > 0 && tensor.dims[0] !== batchSize) {
      throw new Error(`output '${name}' has batch ${tensor.dims[0]} for an input batch of ${batchSize}; ` +
                      'the model does not support this batch size');
    }
    if (tensor.type === 'float32') {
      for (let i = 0; i < tensor.data.length; i++) {
        if (!Number.isFinite(tensor.data[i])) throw new Error(`output '${name}' holds a non-finite value`);
      }
    }
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`ort_bench: ${e.message}\n${usage()}`);
      process.exit(2);
    }
    throw e;
  }
  if (!fs.existsSync(opts.model)) throw new Error(`model file not found: ${opts.model}`);

  const ort = loadOrt();
  const session = await createSession(ort, opts.model, opts.numCores);
  const inputName = session.inputNames[0];
  const shape = inputShape(session, opts);

  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  const rng = makeRng(opts.seed);
  for (let i = 0; i < count; i++) data[i] = rng();
  const feeds = { [inputName]: new ort.Tensor('float32', data, shape) };

  const runOnce = async () => {
    try {
      return await session.run(feeds);
    } catch (e) {
      throw new Error(`inference failed at batch ${opts.batchSize} with input [${shape.join(', ')}]: ` +
                      `${e.message.split('\n')[0]}`);
    }
  };

  // Warmup: at least one run, whose outputs are also checked for shape and finiteness.
  checkOutputs(await runOnce(), opts.batchSize);
  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(opts.warmup * 1e9));
  while (process.hrtime.bigint() < warmupEnd) await runOnce();

  const batchTimesMs = [];
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(opts.time * 1e9));
  let now = start;
  do {
    const t0 = process.hrtime.bigint();
    await runOnce();
    now = process.hrtime.bigint();
    batchTimesMs.push(Number(now - t0) / 1e6);
  } while (now < end);
  const secondsRan = Number(now - start) / 1e9;

  const result = summarise(batchTimesMs, secondsRan, opts);
  const f = (v) => v.toFixed(2);
  console.log(`${ENGINE}: ${opts.model}, input ${inputName} [${shape.join(', ')}], ` +
              `${opts.numCores} intra-op thread(s)`);
  console.log(`  ${result.iterations} batches in ${result.seconds_ran.toFixed(2)} s: ` +
              `${f(result.items_per_second)} items/s, ${f(result.ms_per_batch)} ms/batch`);
  console.log(`  batch ms: mean ${f(result.batch_times_mean)}, median ${f(result.batch_times_median)}, ` +
              `std ${f(result.batch_times_std)}, p90 ${f(result.p90)}, p95 ${f(result.p95)}, ` +
              `p99 ${f(result.p99)}, p99.9 ${f(result.p99_9)}`);
  if (opts.exportJson) {
    fs.writeFileSync(opts.exportJson, JSON.stringify(result, null, 2) + '\n');
    console.log(`  wrote ${opts.exportJson}`);
  }
  await session.release();
}

main().catch((e) => {
  console.error(`ort_bench: error: ${e.message}`);
  process.exit(1);
});
