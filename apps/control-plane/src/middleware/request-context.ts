import { createParamDecorator, type ExecutionContext, type PipeTransform, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { isId } from '@rf/events';
import type { Actor } from '../core/actor';
import { actorOf } from './auth.decorators';
import type { CommandContext } from '../core/command-context';
import { AppError } from '../core/app-error';

/** The request id (pino-http's `req.id`, honouring a sane X-Request-Id) used as the events' correlation id. */
export function correlationIdOf(req: Request): string {
  const id = (req as Request & { id?: unknown }).id;
  return typeof id === 'string' && isId(id) ? id : randomUUID();
}

/** `CommandContext` for an operator request: the authenticated actor plus the request's correlation id. */
export const RequestContext = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): CommandContext => {
    const req = ctx.switchToHttp().getRequest<Request>();
    const actor: Actor | undefined = actorOf(req);
    if (!actor) throw new AppError('forbidden', 'no authenticated actor on this request');
    return {
      actor: { kind: actor.kind, id: actor.id, ...(actor.name ? { name: actor.name } : {}) },
      correlationId: correlationIdOf(req),
    };
  },
);

/** Validates a path id (`host`, `job`) so a bad one is a 400 naming the parameter, not a 500 from a stream name. */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isId(value))
      throw new AppError('invalid_input', 'id must be an id of 1-128 characters [A-Za-z0-9._:-]', {
        field: 'id',
      });
    return value;
  }
}
