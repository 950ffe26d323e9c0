/** Runs the test gateway on a fixed port for Swift's functional tests (see run.sh). */
import { startHarness } from '../http/harness.ts';

const port = Number(process.env.SWIFTGATE_PORT ?? 8089);
const h = await startHarness({ port });
process.stdout.write(`swiftgate conformance gateway on ${h.url} (data ${h.dataDir})\n`);
const stop = async (): Promise<void> => {
  await h.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
