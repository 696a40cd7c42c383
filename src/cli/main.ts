#!/usr/bin/env node
// The `orthogonium` command. Exit codes: 0 success, 1 failure, 2 usage error.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: orthogonium <command> [options]

commands:
  train [--setting non_robust|mildly_robust|robust] [--dataset cifar10|cifar100|fashion-mnist|mnist|folder:<path>]
        [--epochs N] [--batch-size N] [--out DIR] [--resume FILE] …   (orthogonium train --help for all options)
                    train a 1-Lipschitz classifier with the seed tutorial's recipe; prints accuracy and VRA
  eval --checkpoint FILE [--dataset NAME] [--eps 36/255,72/255,108/255] [--limit N] [--json]
                    accuracy, loss and VRA of a checkpoint on a validation split
  launch --nproc N [--num-nodes M --node-rank R --master-addr A --master-port P] script.js [args…]
                    run a script as N data-parallel ranks (Trainer({ strategy: 'ddp' }) inside it)
  doctor [--json]   libtorch version, BLAS in use and its speed, threads, CUDA, CPU features
  summary --model <preset> [--input-size C,H,W] [--depth N] [--json]
                    a torchinfo-like table of a model preset (seed-cifar10, fmnist-small)
  certify --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
          [--eps 36/255,72/255,108/255] [--limit N] [--json] [--out DIR]
                    clean and certified accuracy of a checkpoint; with --out, per-sample
                    radii (CSV) and the certified-accuracy plot (SVG, PNG)
  import --state-dict FILE (--model-config FILE | --model PRESET) --out CHECKPOINT
         [--mean a,b,c --std a,b,c] [--dataset NAME] [--non-strict] [--json]
                    turn a state dict saved by the Python Orthogonium (.pt or .safetensors)
                    into a checkpoint; the model config names the same architecture and arguments
  export --checkpoint FILE --format onnx|safetensors|pt --out PATH [--input-shape C,H,W]
         [--normalize-input] [--json]
                    an ONNX model with certification metadata, or plain weights
                    (safetensors / PyTorch state dict) with an architecture JSON
  attack --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
         [--eps 36/255,72/255,108/255] [--limit N (default 1000)] [--restarts N] [--steps N]
         [--batch-size N] [--float64] [--json] [--out DIR]
                    certify, then attack (L2 PGD + boundary search): certified vs empirical
                    robust accuracy; exit 1 if a certified sample is broken inside its radius;
                    with --out, per-sample radius and attack distance (CSV)
  serve --checkpoint FILE [--port N] [--host 127.0.0.1] [--out DIR] [--data-dir DIR]
                    build and serve a web page running the model in the browser (ONNX, WASM):
                    prediction, margin, certified L2 radius, and a noise slider
  --version         print the version
  --help            print this help`;

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    console.log(packageVersion());
    return 0;
  }
  if (command === 'doctor') {
    const unknown = rest.filter((a) => a !== '--json');
    if (unknown.length > 0) {
      console.error(`orthogonium doctor: unknown option ${unknown[0]}\n\n${USAGE}`);
      return 2;
    }
    const { doctor, formatDoctor } = await import('./doctor.js');
    const report = doctor();
    console.log(rest.includes('--json') ? JSON.stringify(report, null, 2) : formatDoctor(report));
    return 0;
  }
  if (command === 'train') {
    const { trainCommand, TRAIN_USAGE } = await import('./train-command.js');
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(`usage: ${TRAIN_USAGE}`);
      return 0;
    }
    return trainCommand(rest, `usage: ${TRAIN_USAGE}`);
  }
  if (command === 'eval') {
    const { evalCommand, EVAL_USAGE } = await import('./eval-command.js');
    return evalCommand(rest, `usage: ${EVAL_USAGE}`);
  }
  if (command === 'certify') {
    const { certifyCommand } = await import('./certify-command.js');
    return certifyCommand(rest, USAGE);
  }
  if (command === 'import') {
    const { importCommand } = await import('./import-command.js');
    return importCommand(rest, USAGE);
  }
  if (command === 'export') {
    const { exportCommand } = await import('./export-command.js');
    return exportCommand(rest, USAGE);
  }
  if (command === 'attack') {
    const { attackCommand } = await import('./attack-command.js');
    return attackCommand(rest, USAGE);
  }
  if (command === 'launch') {
    const { launchCommand } = await import('./launch-command.js');
    return launchCommand(rest, USAGE);
  }
  if (command === 'serve') {
    const { serveCommand, SERVE_USAGE } = await import('./serve-command.js');
    return serveCommand(rest, `usage: ${SERVE_USAGE}`);
  }
  if (command === 'summary') {
    const { summaryCommand } = await import('./summary-command.js');
    return summaryCommand(rest, USAGE);
  }
  console.error(`orthogonium: unknown command '${command}'\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    console.error(`orthogonium: ${error.message}`);
    process.exitCode = 1;
  },
);
