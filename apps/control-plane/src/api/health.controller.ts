import { Controller, Get } from '@nestjs/common';

/** Liveness: the process is up and serving HTTP. Readiness lives in `/readyz`. */
@Controller()
export class HealthController {
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
