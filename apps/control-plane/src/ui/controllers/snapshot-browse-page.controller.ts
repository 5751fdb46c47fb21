import { Controller, Get, Header, Param, Query, Req, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { legacyRepositoryId } from '@rf/events';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe } from '../../middleware/request-context';
import { QueryTextPipe } from '../../middleware/query-text.pipe';
import { SnapshotBrowseService } from '../../services/snapshot-browse.service';
import { fmt } from '../ui-fmt';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

/**
 * `/hosts/{id}/snapshots/{sid}/browse?path=`: a file browser over one snapshot
 * of the host's repository (docs/browse.md), with breadcrumbs, one page of
 * entries at a time and download links for operators.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class SnapshotBrowsePageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly browse: SnapshotBrowseService,
  ) {}

  @Get('hosts/:id/snapshots/:sid/browse')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async page(
    @Param('id', ParseIdPipe) hostId: string,
    @Param('sid') sid: string,
    @Query('path', QueryTextPipe) path: string | undefined,
    @Query('cursor', QueryTextPipe) cursor: string | undefined,
    @Req() req: Request,
  ): Promise<string> {
    const repositoryId = legacyRepositoryId(hostId);
    const tree = await this.browse.tree(repositoryId, sid, path, cursor, undefined);
    const segments = tree.path.split('/').filter(Boolean);
    return this.renderer.render(
      req,
      'browse',
      { title: `Snapshot ${tree.snapshot_id.slice(0, 8)}`, active: 'dashboard' },
      {
        hostId,
        repositoryId,
        tree,
        crumbs: segments.map((name, i) => ({ name, path: '/' + segments.slice(0, i + 1).join('/') })),
        child: (name: string) => (tree.path === '/' ? `/${name}` : `${tree.path}/${name}`),
        fmt,
      },
    );
  }
}
