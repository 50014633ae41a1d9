// ONNX Runtime peer: times one exported model on one input case (bench/prepare.py's inputs/*.json),
// batch by batch, each batch right-padded to its longest sequence, as a user of ONNX Runtime would.
// Prints one JSON object on stdout: {"peer","threads","times":[s per run],"logits":[[...]...]}.
// With --serve (used by bench/driver.py, which interleaves the peers' runs so that a busy shared
// machine slows them alike) it prints {"ready":...} once loaded, then answers each stdin line:
// "run" -> {"t": seconds of one pass, "cpu": CPU seconds of the process during it}, "logits" -> {"logits": [[...]...]}, "case FILE.json" ->
// {"ok": true} (switches the input case, same session), "quit" or EOF -> exits.
//
// usage: node bench/ort_run.js MODEL.onnx CASE.json THREADS RUNS [WARMUP] [--dump-optimized FILE]
//        node bench/ort_run.js MODEL.onnx CASE.json THREADS --serve
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function padded(batch) {
  const s = Math.max(...batch.map((x) => x.length));
  const ids = new BigInt64Array(batch.length * s);
  const types = new BigInt64Array(batch.length * s);
  const mask = new BigInt64Array(batch.length * s);
  batch.forEach((x, i) => {
    x.forEach((id, j) => {
      ids[i * s + j] = BigInt(id);
      mask[i * s + j] = 1n;
    });
  });
  const dims = [batch.length, s];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    token_type_ids: new ort.Tensor('int64', types, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
  };
}

async function main() {
  const argv = process.argv.slice(2);
  let dump = null;
  const k = argv.indexOf('--dump-optimized');
  if (k >= 0) {
    dump = argv[k + 1];
    argv.splice(k, 2);
  }
  const serve = argv.indexOf('--serve');
  if (serve >= 0) argv.splice(serve, 1, '0');
  if (argv.length < 4) {
    console.error('usage: node ort_run.js MODEL.onnx CASE.json THREADS RUNS [WARMUP] [--dump-optimized FILE]');
    process.exit(2);
  }
  const [modelPath, casePath] = argv;
  const threads = parseInt(argv[2], 10);
  const runs = parseInt(argv[3], 10);
  const warmup = argv.length > 4 ? parseInt(argv[4], 10) : 1;
  const opts = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (dump) opts.optimizedModelFilePath = dump;
  const sess = await ort.InferenceSession.create(modelPath, opts);
  let cs = JSON.parse(fs.readFileSync(casePath, 'utf8'));
  let feeds = cs.batches.map(padded); // built once: input preparation is not timed
  const logits = [];
  let cpu = 0; // CPU seconds of the last pass, all threads of the process
  const once = async (keep) => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const f of feeds) {
      const r = await sess.run(f);
      if (keep) {
        const d = r.logits.dims;
        for (let i = 0; i < d[0]; i++) logits.push(Array.from(r.logits.data.slice(i * d[1], (i + 1) * d[1])));
      }
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    cpu = (c.user + c.system) / 1e6;
    return dt;
  };
  if (serve >= 0) {
    const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
    out({ ready: true, peer: 'ort', version: ort.env.versions ? ort.env.versions.common : '' });
    const rl = require('readline').createInterface({ input: process.stdin });
    for await (const line of rl) {
      const cmd = line.trim();
      if (cmd === 'run') {
        const t = await once(false);
        out({ t, cpu });
      }
      else if (cmd.startsWith('case ')) {
        cs = JSON.parse(fs.readFileSync(cmd.slice(5), 'utf8'));
        feeds = cs.batches.map(padded);
        out({ ok: true });
      } else if (cmd === 'logits') {
        logits.length = 0;
        await once(true);
        out({ logits });
      } else if (cmd === 'quit') break;
      else out({ error: 'unknown command ' + cmd });
    }
    rl.close();
    return;
  }
  for (let i = 0; i < warmup; i++) await once(i === 0);
  if (warmup === 0) await once(true);
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(false));
  const padTok = cs.batches.reduce((a, b) => a + b.length * Math.max(...b.map((x) => x.length)), 0);
  process.stdout.write(JSON.stringify({ peer: 'ort', version: ort.env.versions ? ort.env.versions.common : '', threads, times, padded_tokens: padTok, logits }) + '\n');
}

main().catch((e) => {
  console.error('ort_run: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
