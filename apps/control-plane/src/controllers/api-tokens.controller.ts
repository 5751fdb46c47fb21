import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTokensService } from '../services/api-tokens.service';
import { CurrentActor, Roles } from '../middleware/auth.decorators';
import { type Actor } from '../core/actor';
import { CreateApiTokenDto } from '../dtos/auth.dtos';

@Controller('api/tokens')
@Roles('admin')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @Get()
  list() {
    return this.tokens.list();
  }

  @Post()
  create(@Body() dto: CreateApiTokenDto, @CurrentActor() actor: Actor) {
    return this.tokens.create({ name: dto.name, role: dto.role, expiresInDays: dto.expires_in_days }, actor);
  }

  @Delete(':id')
  @HttpCode(204)
  revoke(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.tokens.revoke(id, actor);
  }
}
