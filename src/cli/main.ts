#!/usr/bin/env node
// The `orthogonium` command. Exit codes: 0 success, 1 failure, 2 usage error.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: orthogonium <command> [options]

commands:
  doctor [--json]   libtorch version, BLAS in use and its speed, threads, CUDA, CPU features
  summary --model <preset> [--input-size C,H,W] [--depth N] [--json]
                    a torchinfo-like table of a model preset (seed-cifar10, fmnist-small)
  certify --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
          [--eps 36/255,72/255,108/255] [--limit N] [--json] [--out DIR]
                    clean and certified accuracy of a checkpoint; with --out, per-sample
                    radii (CSV) and the certified-accuracy plot (SVG, PNG)
  export --checkpoint FILE --format onnx|safetensors|pt --out PATH [--input-shape C,H,W]
         [--normalize-input] [--json]
                    an ONNX model with certification metadata, or plain weights
                    (safetensors / PyTorch state dict) with an architecture JSON
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
  if (command === 'certify') {
    const { certifyCommand } = await import('./certify-command.js');
    return certifyCommand(rest, USAGE);
  }
  if (command === 'export') {
    const { exportCommand } = await import('./export-command.js');
    return exportCommand(rest, USAGE);
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
