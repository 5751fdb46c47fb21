import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Actor, Role } from '../core/actor';

export const ROLES_KEY = 'rf:roles';
export const PUBLIC_KEY = 'rf:public';

/**
 * Minimum role for a route or controller. Without it an authenticated caller
 * needs `viewer` for safe methods (GET/HEAD/OPTIONS) and `operator` otherwise,
 * so a viewer is read-only by default.
 */
export const Roles = (min: Role): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, min);

/** Opt a route or controller out of authentication. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

/** The property the guard sets on the request. */
export const ACTOR_REQUEST_KEY = 'rfActor';

export type RequestWithActor = Request & { [ACTOR_REQUEST_KEY]?: Actor };

export const actorOf = (req: Request): Actor | undefined => (req as RequestWithActor)[ACTOR_REQUEST_KEY];

/** The authenticated actor of this request (set by the global guard). */
export const CurrentActor = createParamDecorator((_data: unknown, ctx: ExecutionContext): Actor | undefined =>
  actorOf(ctx.switchToHttp().getRequest<Request>()),
);
