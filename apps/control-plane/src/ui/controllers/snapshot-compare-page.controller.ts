import { Controller, Get, Header, Param, Query, Req, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { legacyRepositoryId } from '@rf/events';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe } from '../../middleware/request-context';
import { QueryTextPipe } from '../../middleware/query-text.pipe';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { SnapshotBrowseService, type DiffResponse } from '../../services/snapshot-browse.service';
import { fmt } from '../ui-fmt';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

/**
 * `/hosts/{id}/compare?from=&to=`: what changed between two snapshots of the
 * host (docs/browse.md); by default the two newest.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class SnapshotComparePageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly reader: ReadModelsReader,
    private readonly browse: SnapshotBrowseService,
  ) {}

  @Get('hosts/:id/compare')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async page(
    @Param('id', ParseIdPipe) hostId: string,
    @Query('from', QueryTextPipe) fromRef: string | undefined,
    @Query('to', QueryTextPipe) toRef: string | undefined,
    @Req() req: Request,
  ): Promise<string> {
    const snapshots = (await this.reader.fresh()).snapshots.forHost(hostId);
    const to = toRef ?? snapshots[0]?.id;
    const from = fromRef ?? snapshots[1]?.id;
    const diff: DiffResponse | null =
      from && to ? await this.browse.diff(legacyRepositoryId(hostId), from, to) : null;
    return this.renderer.render(
      req,
      'compare',
      { title: 'Compare snapshots', active: 'dashboard' },
      { hostId, snapshots, from: diff?.from ?? from ?? '', to: diff?.to ?? to ?? '', diff, fmt },
    );
  }
}
