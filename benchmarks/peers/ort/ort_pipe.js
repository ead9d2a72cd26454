#!/usr/bin/env node
// ONNX Runtime (CPU) as a tensor-in, tensor-out process, so that another program can run its own
// pre- and post-processing around ONNX Runtime's inference (benchmarks/cross_runtime).
//
//   node ort_pipe.js MODEL [--num-cores C] [--graph-optimization all|extended|basic|disabled]
//
// stdin carries requests and stdout answers, each one tensor: u32 rank, rank u32 dims, then the
// float32 values, all little-endian. A request feeds the model's first input; the answer is its
// first output. The process ends at the end of stdin. The session is configured as ort_bench.js
// configures it (session.js).
'use strict';

const { loadOrt, createSession } = require('./session.js');

function usage() {
  return 'usage: node ort_pipe.js MODEL [--num-cores C] [--graph-optimization all|extended|basic|disabled]';
}

function parseArgs(argv) {
  const opts = { model: null, numCores: 1, optimization: 'all' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--num-cores') {
      opts.numCores = Number(argv[++i]);
      if (!Number.isInteger(opts.numCores) || opts.numCores < 1) throw new Error('--num-cores must be a positive integer');
    } else if (argv[i] === '--graph-optimization') {
      opts.optimization = argv[++i];
      if (!['all', 'extended', 'basic', 'disabled'].includes(opts.optimization)) {
        throw new Error(`--graph-optimization must be all, extended, basic or disabled, not '${opts.optimization}'`);
      }
    } else if (opts.model === null && !argv[i].startsWith('--')) {
      opts.model = argv[i];
    } else {
      throw new Error(`unknown argument '${argv[i]}'; ${usage()}`);
    }
  }
  if (opts.model === null) throw new Error(usage());
  return opts;
}

// Yields each complete request from stdin as { dims, data }.
async function* requests(stream) {
  let buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 4) break;
      const rank = buffer.readUInt32LE(0);
      const header = 4 + 4 * rank;
      if (buffer.length < header) break;
      const dims = [];
      for (let d = 0; d < rank; d++) dims.push(buffer.readUInt32LE(4 + 4 * d));
      const bytes = 4 * dims.reduce((a, b) => a * b, 1);
      if (buffer.length < header + bytes) break;
      const data = new Float32Array(buffer.buffer.slice(buffer.byteOffset + header, buffer.byteOffset + header + bytes));
      buffer = buffer.subarray(header + bytes);
      yield { dims, data };
    }
  }
  if (buffer.length) throw new Error(`stdin ended inside a request (${buffer.length} bytes left)`);
}

// Integer outputs (quantized tensors) are answered as float32 too: the protocol has one type.
function answer(tensor) {
  const data = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data);
  const header = Buffer.alloc(4 + 4 * tensor.dims.length);
  header.writeUInt32LE(tensor.dims.length, 0);
  tensor.dims.forEach((d, i) => header.writeUInt32LE(d, 4 + 4 * i));
  const values = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([header, values]);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const session = await createSession(ort, opts.model, opts.numCores, opts.optimization);
  for await (const { dims, data } of requests(process.stdin)) {
    const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
    const out = results[session.outputNames[0]];
    if (!process.stdout.write(answer(out))) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}

main().catch((e) => {
  process.stderr.write(`ort_pipe: ${e.message}\n`);
  process.exit(1);
});
