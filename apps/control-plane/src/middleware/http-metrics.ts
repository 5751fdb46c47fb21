import type { NextFunction, Request, Response } from 'express';
import { MetricsRegistry } from '../core/metrics.registry';

/** Label for requests no route matched (404s, static files): one series, not one per raw path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Express middleware timing every HTTP request into `rf_http_request_duration_seconds`,
 * labelled by method, route template (`/api/hosts/:id`, never the raw path, so the
 * series stay bounded) and status code.
 */
export function httpMetrics(
  metrics: MetricsRegistry,
): (req: Request, res: Response, next: NextFunction) => void {
  const observe = metrics.histogram(
    'rf_http_request_duration_seconds',
    'HTTP request time from arrival to the end of the response, by route template',
    undefined,
    ['method', 'route', 'status'],
  );
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      observe((performance.now() - started) / 1000, {
        method: req.method,
        route: routeTemplate(req),
        status: String(res.statusCode),
      });
    });
    next();
  };
}

/** Nest answers paths no controller owns through a catch-all route of its own: those are unmatched too. */
const CATCH_ALL_ROUTES = new Set(['/{*path}', '*', '/*']);

function routeTemplate(req: Request): string {
  const route: unknown = req.route;
  if (typeof route !== 'object' || route === null || !('path' in route) || typeof route.path !== 'string')
    return UNMATCHED_ROUTE;
  if (CATCH_ALL_ROUTES.has(route.path)) return UNMATCHED_ROUTE;
  return `${req.baseUrl}${route.path}`;
}
