/** Entry point: tuneRuntime → loadConfig → createApp → listen; SIGTERM/SIGINT close everything in order. */
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { tuneRuntime } from './runtime.js';

async function main(): Promise<void> {
  tuneRuntime();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  const address = await app.listen();
  app.http.log.info(`H-CMP is serving on ${address.replace('0.0.0.0', 'localhost')} (database: ${app.database.backend}${app.database.fellBack ? ', fell back from PostgreSQL' : ''})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.http.log.info(`${signal}: shutting down`);
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(`H-CMP failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
