import { ConfigError, type ConfigOf, loadConfig, type Schema } from '@citysoc/config';

/** Loads an app's config or exits with every problem listed: a misconfigured app must not half-start. */
export function loadConfigOrExit<S extends Schema>(schema: S, app: string): ConfigOf<S> {
  try {
    return loadConfig(schema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`citysoc-${app}: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
