import { Controller, Get, Header, Param, Query, Req, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { legacyRepositoryId } from '@rf/events';
import { AppError } from '../../core/app-error';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe } from '../../middleware/request-context';
import { QueryTextPipe } from '../../middleware/query-text.pipe';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { SnapshotComparePresenter, type CompareModel } from '../presenters/snapshot-compare.presenter';
import { fmt } from '../ui-fmt';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';
import { browseHref } from './snapshot-browse-page.controller';

const HTML = 'text/html; charset=utf-8';

/**
 * `/hosts/{id}/compare?from=&to=`: what changed between two snapshots of the
 * host (docs/browse.md), by default the two newest, with each file's size
 * change and the totals. A diff the hosts cannot answer is said on the page,
 * next to the snapshot choice, so another pair can be picked.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class SnapshotComparePageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly reader: ReadModelsReader,
    private readonly compare: SnapshotComparePresenter,
  ) {}

  @Get('hosts/:id/compare')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async page(
    @Param('id', ParseIdPipe) hostId: string,
    @Query('from', QueryTextPipe) fromRef: string | undefined,
    @Query('to', QueryTextPipe) toRef: string | undefined,
    @Req() req: Request,
  ): Promise<string> {
    const models = await this.reader.fresh();
    const host = models.hosts.get(hostId);
    const listed = models.snapshots.forHost(hostId);
    const repositoryId = listed[0]?.repositoryId ?? legacyRepositoryId(hostId);
    // The host's own snapshots in that repository (a shared repository lists other hosts' too).
    const own = listed.filter(
      (s) => s.repositoryId === repositoryId && (!host?.hostname || s.hostname === host.hostname),
    );
    const snapshots = own.length > 1 ? own : listed.filter((s) => s.repositoryId === repositoryId);
    const to = toRef ?? snapshots[0]?.id;
    const from = fromRef ?? snapshots[1]?.id;
    let model: CompareModel | null = null;
    let error: string | null = null;
    if (from && to) {
      try {
        model = await this.compare.load(repositoryId, from, to);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        error = err.message;
      }
    }
    return this.renderer.render(
      req,
      'compare',
      {
        title: 'Compare snapshots',
        active: 'dashboard',
        scripts: ['/ui/static/browse.js'],
      },
      {
        hostId,
        hostName: host?.hostname ?? hostId,
        snapshots,
        from: model?.diff.from ?? from ?? '',
        to: model?.diff.to ?? to ?? '',
        model,
        error,
        browseIn: (sid: string, path: string, select?: string) => browseHref(repositoryId, sid, path, select),
        fmt,
      },
    );
  }
}
