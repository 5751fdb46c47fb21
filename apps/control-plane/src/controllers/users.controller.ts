import { Body, Controller, Get, Param, Patch, Post } from '@nestjs/common';
import { CurrentActor, Roles } from '../middleware/auth.decorators';
import { type Actor } from '../core/actor';
import { CreateUserDto, UpdateUserDto } from '../dtos/auth.dtos';
import { UsersService } from '../services/users.service';

@Controller('api/users')
@Roles('admin')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  list() {
    return this.users.list();
  }

  @Post()
  create(@Body() dto: CreateUserDto, @CurrentActor() actor: Actor) {
    return this.users.create(dto.username, dto.role, dto.password, actor);
  }

  @Patch(':id')
  async update(@Param('id') id: string, @Body() dto: UpdateUserDto, @CurrentActor() actor: Actor) {
    // A disabled user or a changed password ends every open session of that user (the identity state does, on every node).
    return this.users.update(id, dto, actor);
  }
}
