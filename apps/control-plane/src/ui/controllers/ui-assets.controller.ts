import { Controller, Get, NotFoundException, Param, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../middleware/auth.decorators';
import { UiAssetsRepository, type UiAsset } from '../../repositories/ui-assets.repository';
import { UiExceptionFilter } from '../ui-exception.filter';

/** Static files of the admin UI; public so the login page can be styled. */
@ApiExcludeController()
@Public()
@Controller('ui')
export class UiAssetsController {
  constructor(private readonly assets: UiAssetsRepository) {}

  @Get('static/:file')
  staticFile(@Param('file') file: string, @Res() res: Response): void {
    send(res, this.assets.staticFile(file));
  }

  @Get('vendor/:file')
  vendor(@Param('file') file: string, @Res() res: Response): void {
    send(res, this.assets.vendorFile(file));
  }

  /** The job page's browser bundle and stylesheet; a missing one is a page, like the job page's own errors. */
  @Get('assets/:file')
  @UseFilters(UiExceptionFilter)
  pageAsset(@Param('file') file: string, @Res() res: Response): void {
    send(res, this.assets.pageAsset(file));
  }
}

function send(res: Response, asset: UiAsset | null): void {
  if (!asset) throw new NotFoundException();
  res.setHeader('Content-Type', asset.contentType);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  asset.open().pipe(res);
}
