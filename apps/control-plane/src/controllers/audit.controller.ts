import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditQueryDto } from '../dtos/audit.dtos';
import { Roles } from '../middleware/auth.decorators';
import { AuditTrailService } from '../services/audit-trail.service';

/** The audit trail: who did what, from the event log itself. */
@ApiTags('audit')
@Controller('api/audit')
export class AuditController {
  constructor(private readonly audit: AuditTrailService) {}

  @Get()
  @Roles('operator')
  list(@Query() q: AuditQueryDto) {
    return this.audit.lines(q);
  }
}
