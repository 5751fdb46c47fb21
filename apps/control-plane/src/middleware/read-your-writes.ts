import type { NextFunction, Request, Response } from 'express';
import { comparePositions, type Position } from '@rf/events';
import { formatPosition, parsePosition, type WritePositions } from '../domain/write-positions';
import { readCookie } from './auth.cookies';

/** The client's newest write position (docs/architecture.md, "Several nodes"). */
export const POSITION_COOKIE = 'rf_pos';
/** Long enough for the next requests after a write; a stale position only makes one read wait briefly. */
const POSITION_MAX_AGE_MS = 5 * 60_000;

/**
 * Read-your-writes across nodes for clients that keep cookies: a request that
 * appends sets `rf_pos` to the newest position it wrote; a later request, on
 * any node, brings it back and reads wait until this node's read models have
 * applied it (`WritePositions.latest`). Nothing secret: a forged position
 * only delays its own sender's reads, by at most the read-your-writes timeout.
 */
export function readYourWrites(
  positions: WritePositions,
  secure: boolean,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    let newest: Position | null = null;
    positions.runRequest(
      {
        seen: parsePosition(readCookie(req, POSITION_COOKIE)),
        noted: (position) => {
          if (res.headersSent || (newest !== null && comparePositions(position, newest) <= 0)) return;
          newest = position;
          res.cookie(POSITION_COOKIE, formatPosition(position), {
            sameSite: 'strict',
            secure,
            httpOnly: true,
            path: '/',
            maxAge: POSITION_MAX_AGE_MS,
          });
        },
      },
      next,
    );
  };
}
