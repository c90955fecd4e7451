import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { type Response } from 'express';

/** Domain errors carry a stable code; this is the one place they become HTTP statuses. */
const STATUS_BY_CODE: Record<string, number> = {
  incident_not_found: 404,
  incident_conflict: 409,
  invalid_transition: 409,
  invalid_query: 400,
  invalid_argument: 400,
  user_exists: 409,
};

@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('api');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (err instanceof HttpException) {
      res.status(err.getStatus()).json(err.getResponse());
      return;
    }
    const code = (err as { code?: unknown }).code;
    const status = typeof code === 'string' ? STATUS_BY_CODE[code] : undefined;
    if (status) {
      res.status(status).json({ statusCode: status, error: code, message: (err as Error).message });
      return;
    }
    this.logger.error(`unhandled error: ${String(err)}`, (err as Error).stack);
    res.status(500).json({ statusCode: 500, error: 'internal_error', message: 'internal error' });
  }
}
