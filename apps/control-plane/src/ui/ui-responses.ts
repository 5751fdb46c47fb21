import type { Request, Response } from 'express';

/** A request htmx made (it swaps the answer into the page rather than loading it). */
export const isHtmx = (req: Request): boolean => req.headers['hx-request'] === 'true';

/** Sends the browser to `target`: htmx follows HX-Redirect; a plain form post follows a 303. */
export function goTo(req: Request, res: Response, target: string): void {
  if (isHtmx(req)) res.setHeader('HX-Redirect', target).status(200).end();
  else res.redirect(303, target);
}
