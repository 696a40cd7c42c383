// Child-process entry of the synchronous CIFAR loaders' download: runs one
// job (JSON in argv[2]) and reports a failure on stderr with exit code 1.
import { runArchiveDownload } from './download.js';

try {
  await runArchiveDownload(JSON.parse(process.argv[2]));
} catch (error) {
  process.stderr.write((error as Error).message);
  process.exitCode = 1;
}
