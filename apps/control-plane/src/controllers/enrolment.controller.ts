import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { clientIp } from './auth.controller';
import { CurrentActor, Public, Roles } from '../middleware/auth.decorators';
import { type Actor } from '../core/actor';
import { CreateEnrolmentTokenDto, EnrolDto } from '../dtos/auth.dtos';
import { EnrolmentService } from '../services/enrolment.service';

@Controller('api')
export class EnrolmentController {
  constructor(private readonly enrolment: EnrolmentService) {}

  @Roles('operator')
  @Post('enrolment-tokens')
  createToken(@Body() dto: CreateEnrolmentTokenDto, @CurrentActor() actor: Actor) {
    return this.enrolment.createToken(actor, dto.expires_in_minutes);
  }

  @Roles('operator')
  @Get('enrolment-tokens')
  listTokens() {
    return this.enrolment.listTokens();
  }

  @Roles('operator')
  @Delete('enrolment-tokens/:id')
  @HttpCode(204)
  revokeToken(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.enrolment.revokeToken(id, actor);
  }

  /** Agents have no credentials yet: the one-time token is the credential. Failures are rate limited per address. */
  @Public()
  @Post('agents/enrol')
  @HttpCode(200)
  enrol(@Body() dto: EnrolDto, @Req() req: Request) {
    return this.enrolment.enrol(dto, clientIp(req));
  }
}
