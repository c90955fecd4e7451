import { type INestApplication, type LoggerService, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { type ControlStore } from '@citysoc/store';
import { type ApiConfig, ApiModule } from './api.module';
import { CONTROL_STORE } from './tokens';

/** Builds the HTTP app (used by main and by tests) with validation, OpenAPI and security headers. */
export async function createApiApp(
  config: ApiConfig,
  logger?: LoggerService | false,
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.register(config), {
    logger: logger ?? false,
    bodyParser: true,
  });
  app.useBodyParser('json', { limit: config.bodyLimit });
  app.disable('x-powered-by');
  app.use((_req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.enableShutdownHooks();
  const doc = new DocumentBuilder()
    .setTitle('citysoc API')
    .setDescription('Events, alerts, incidents and administration of the city SOC pipeline')
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, doc), {
    jsonDocumentUrl: 'api/docs/openapi.json',
  });
  return app;
}

/**
 * First start: with no active admin token, create one (from CITYSOC_ADMIN_TOKEN if set) and return the
 * secret so the caller can show it once. Only its hash is stored.
 */
export function bootstrapAdmin(
  app: INestApplication,
  presetToken: string,
): { token?: string; preset: boolean } | undefined {
  const control = app.get<ControlStore>(CONTROL_STORE);
  if (control.auth.hasActiveAdmin()) return undefined;
  const { token } = control.auth.createToken('admin', 'admin', presetToken || undefined);
  control.audit.append({
    actor: 'system',
    action: 'token.bootstrap',
    target: 'admin',
    outcome: 'success',
    detail: { preset: Boolean(presetToken) },
  });
  return presetToken ? { preset: true } : { token, preset: false };
}
