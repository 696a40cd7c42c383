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
  attack --checkpoint FILE --dataset fashion-mnist|mnist|cifar10 [--data-dir DIR]
         [--eps 36/255,72/255,108/255] [--limit N (default 1000)] [--restarts N] [--steps N]
         [--batch-size N] [--float64] [--json] [--out DIR]
                    certify, then attack (L2 PGD + boundary search): certified vs empirical
                    robust accuracy; exit 1 if a certified sample is broken inside its radius;
                    with --out, per-sample radius and attack distance (CSV)
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
  if (command === 'attack') {
    const { attackCommand } = await import('./attack-command.js');
    return attackCommand(rest, USAGE);
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
