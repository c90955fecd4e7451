import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '@citysoc/config';
import { Public } from '../auth/roles';

const dir = path.join(projectRoot(), 'apps', 'api', 'src', 'console');
// Read once at start: the page is static; data comes from the authenticated API.
const html = readFileSync(path.join(dir, 'console.html'), 'utf8');
const js = readFileSync(path.join(dir, 'console.js'), 'utf8');
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

@ApiExcludeController()
@Controller()
export class ConsoleController {
  @Get()
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CSP)
  page(): string {
    return html;
  }

  @Get('console.js')
  @Public()
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('content-security-policy', CSP)
  script(): string {
    return js;
  }
}
