import * as fs from 'node:fs';
import * as path from 'node:path';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth';
import { uiSourceDir } from '../../repositories/ui-assets.repository';

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Third-party browser files, served from node_modules (no CDN: the control plane may be offline). */
const VENDOR: Readonly<Record<string, string>> = {
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

/** Static files of the admin UI; public so the login page can be styled. */
@ApiExcludeController()
@Public()
@Controller('ui')
export class UiAssetsController {
  private readonly staticDir = path.join(uiSourceDir(), 'static');

  @Get('static/:file')
  staticFile(@Param('file') file: string, @Res() res: Response): void {
    // Only plain names from our own folder: no path separators, no dot-files.
    if (!/^[a-z0-9][a-z0-9.-]*\.(css|js|svg)$/i.test(file)) throw new NotFoundException();
    this.send(res, path.join(this.staticDir, file));
  }

  @Get('vendor/:file')
  vendor(@Param('file') file: string, @Res() res: Response): void {
    const rel = VENDOR[file];
    if (!rel) throw new NotFoundException();
    this.send(res, require.resolve(rel));
  }

  private send(res: Response, file: string): void {
    if (!fs.existsSync(file)) throw new NotFoundException();
    res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    fs.createReadStream(file).pipe(res);
  }
}
