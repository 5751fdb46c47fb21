import { Controller, Get, Header, Param, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { legacyRepositoryId } from '@rf/events';
import { AppError } from '../../core/app-error';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe } from '../../middleware/request-context';
import { QueryTextPipe } from '../../middleware/query-text.pipe';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { SnapshotBrowseService, type FindResponse } from '../../services/snapshot-browse.service';
import { fmt } from '../ui-fmt';
import { isHtmx } from '../ui-responses';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const HTML = 'text/html; charset=utf-8';
const BROWSE_SCRIPTS = ['/ui/static/browse.js'];

/** `/repositories/{id}/snapshots/{sid}/browse?path=…`, the one address of a folder in a snapshot. */
export const browseHref = (repositoryId: string, snapshotId: string, path: string, select?: string): string =>
  `/repositories/${encodeURIComponent(repositoryId)}/snapshots/${encodeURIComponent(snapshotId)}/browse?path=${encodeURIComponent(path)}` +
  (select ? `&select=${encodeURIComponent(select)}` : '');

/**
 * The snapshot file browser and search (docs/browse.md): one folder of a
 * snapshot at a time with breadcrumbs, keyboard navigation, downloads and
 * restore for operators; `restic find` across the repository's snapshots.
 * Any snapshot a host of the repository listed can be browsed, including
 * those other hosts of a shared repository took.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class SnapshotBrowsePageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly reader: ReadModelsReader,
    private readonly browse: SnapshotBrowseService,
  ) {}

  /** The host page's snapshot rows link here: the snapshot's repository holds the browser. */
  @Get('hosts/:id/snapshots/:sid/browse')
  @Roles('viewer')
  async hostSnapshot(
    @Param('id', ParseIdPipe) hostId: string,
    @Param('sid') sid: string,
    @Query('path', QueryTextPipe) path: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const listed = (await this.reader.fresh()).snapshots.forHost(hostId).find((s) => s.id.startsWith(sid));
    res.redirect(
      302,
      browseHref(listed?.repositoryId ?? legacyRepositoryId(hostId), listed?.id ?? sid, path ?? '/'),
    );
  }

  @Get('repositories/:id/snapshots/:sid/browse')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async page(
    @Param('id', ParseIdPipe) repositoryId: string,
    @Param('sid') sid: string,
    @Query('path', QueryTextPipe) path: string | undefined,
    @Query('cursor', QueryTextPipe) cursor: string | undefined,
    @Query('select', QueryTextPipe) select: string | undefined,
    @Req() req: Request,
  ): Promise<string> {
    const tree = await this.browse.tree(repositoryId, sid, path, cursor, undefined);
    const models = await this.reader.fresh();
    const repository = models.repositories.get(repositoryId);
    const snapshot = models.snapshots.byId(tree.snapshot_id)[0] ?? null;
    const origin = repository?.hosts.find((h) => snapshot !== null && h.hostname === snapshot.hostname);
    const segments = tree.path.split('/').filter(Boolean);
    return this.renderer.render(
      req,
      'browse',
      { title: `Snapshot ${tree.snapshot_id.slice(0, 8)}`, active: 'repositories', scripts: BROWSE_SCRIPTS },
      {
        repositoryId,
        repositoryName: repository?.name ?? repositoryId,
        originHostId: origin?.id ?? null,
        snapshot,
        tree,
        select: select ?? '',
        crumbs: segments.map((name, i) => ({ name, path: '/' + segments.slice(0, i + 1).join('/') })),
        child: (name: string) => (tree.path === '/' ? `/${name}` : `${tree.path}/${name}`),
        browseHref: (p: string, sel?: string) => browseHref(repositoryId, tree.snapshot_id, p, sel),
        fmt,
      },
    );
  }

  /**
   * `restic find` across the repository's snapshots (or one host's). From the
   * browser's search box (htmx) it answers the results alone; a failed search
   * is said in the results, where the operator is looking.
   */
  @Get('repositories/:id/search')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async search(
    @Param('id', ParseIdPipe) repositoryId: string,
    @Query('pattern', QueryTextPipe) pattern: string | undefined,
    @Query('host', QueryTextPipe) host: string | undefined,
    @Req() req: Request,
  ): Promise<string> {
    let found: FindResponse | null = null;
    let error: string | null = null;
    const wanted = pattern?.trim() ?? '';
    if (wanted) {
      try {
        found = await this.browse.find(repositoryId, wanted, host || undefined);
      } catch (err) {
        if (!(err instanceof AppError) || err.code === 'not_found') throw err;
        error = err.message;
      }
    }
    const data = {
      repositoryId,
      pattern: wanted,
      host: host ?? '',
      found,
      error,
      browseHref: (sid: string, p: string, sel?: string) => browseHref(repositoryId, sid, p, sel),
      fmt,
    };
    if (isHtmx(req)) return this.renderer.partial(req, 'partials/search-results', data);
    const repository = (await this.reader.fresh()).repositories.get(repositoryId);
    return this.renderer.render(
      req,
      'search',
      { title: wanted ? `Find ${wanted}` : 'Find files', active: 'repositories', scripts: BROWSE_SCRIPTS },
      { ...data, repositoryName: repository?.name ?? repositoryId },
    );
  }
}
