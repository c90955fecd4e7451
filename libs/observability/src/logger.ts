import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/** Structured JSON logs (one object per line) in production; readable text when attached to a terminal. */
export function createAppLogger(app: string): ConsoleLogger {
  const levels: LogLevel[] =
    process.env.CITYSOC_LOG_LEVEL === 'debug' ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn', 'log'];
  return new ConsoleLogger(app, {
    json: !process.stdout.isTTY,
    logLevels: levels,
    colors: process.stdout.isTTY,
  });
}
