// The ONNX Runtime session every peer runner uses: the CPU execution provider configured as a fair
// peer (intra-op threads = the core count, one inter-op thread, sequential execution, all graph
// optimisations), so that ort_bench.js and ort_pipe.js measure and compute the same thing.
'use strict';

const path = require('node:path');

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    throw new Error(`cannot load onnxruntime-node (${e.message.split('\n')[0]}); run ` +
                    `${path.join(__dirname, 'install.sh')} first`);
  }
}

// `optimization`: ONNX Runtime's graph optimisation level; 'disabled' runs a QDQ model as its
// float graph says, without fusing QuantizeLinear/DequantizeLinear into integer kernels.
async function createSession(ort, model, numCores, optimization = 'all') {
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: numCores,
    interOpNumThreads: 1,
    graphOptimizationLevel: optimization,
    executionMode: 'sequential',
  });
}

module.exports = { loadOrt, createSession };
