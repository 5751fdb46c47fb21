import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { CommandContext } from '../core/command-context';
import { Roles } from '../middleware/auth.decorators';
import { ClientGone } from '../middleware/client-gone';
import { pumpDownload } from './download.pump';
import { QueryTextPipe } from '../middleware/query-text.pipe';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';
import {
  SnapshotBrowseService,
  type DiffResponse,
  type FindResponse,
  type TreeResponse,
} from '../services/snapshot-browse.service';

/**
 * Browse, search, compare and download snapshots through an attached agent
 * (docs/browse.md). Listing, search and diff show names and sizes only, so a
 * viewer may use them; a download hands out backed-up data, so it needs an
 * operator, and each one is recorded in the audit trail.
 */
@ApiTags('repositories')
@Controller('api/repositories/:id')
export class SnapshotBrowseController {
  constructor(private readonly browse: SnapshotBrowseService) {}

  @Get('snapshots/:sid/tree')
  @Roles('viewer')
  @ApiOkResponse({
    description: 'One page of a folder: {entries:[{name,type,size,mtime,mode}], next_cursor?}',
  })
  tree(
    @Param('id', ParseIdPipe) id: string,
    @Param('sid') sid: string,
    @Query('path', QueryTextPipe) path: string | undefined,
    @Query('cursor', QueryTextPipe) cursor: string | undefined,
    @Query('limit', QueryTextPipe) limit: string | undefined,
    @ClientGone() gone: AbortSignal,
  ): Promise<TreeResponse> {
    return this.browse.tree(id, sid, path, cursor, limit, gone);
  }

  @Get('find')
  @Roles('viewer')
  @ApiOkResponse({ description: 'Files matching a restic find pattern, across snapshots' })
  find(
    @Param('id', ParseIdPipe) id: string,
    @Query('pattern', QueryTextPipe) pattern: string | undefined,
    @Query('host', QueryTextPipe) host: string | undefined,
    @ClientGone() gone: AbortSignal,
  ): Promise<FindResponse> {
    return this.browse.find(id, pattern, host, gone);
  }

  @Get('diff')
  @Roles('viewer')
  @ApiOkResponse({ description: '{added, removed, changed, stats} between two snapshots' })
  diff(
    @Param('id', ParseIdPipe) id: string,
    @Query('from', QueryTextPipe) from: string | undefined,
    @Query('to', QueryTextPipe) to: string | undefined,
    @ClientGone() gone: AbortSignal,
  ): Promise<DiffResponse> {
    return this.browse.diff(id, from, to, gone);
  }

  @Get('snapshots/:sid/download')
  @Roles('operator')
  @ApiProduces('application/octet-stream', 'application/x-tar', 'application/zip')
  @ApiOkResponse({ description: "A file's bytes, or a folder as .tar (format=zip for .zip)" })
  async download(
    @Param('id', ParseIdPipe) id: string,
    @Param('sid') sid: string,
    @Query('path', QueryTextPipe) path: string | undefined,
    @Query('format', QueryTextPipe) format: string | undefined,
    @RequestContext() ctx: CommandContext,
    @Res() res: Response,
  ): Promise<void> {
    const download = await this.browse.download(id, sid, path, format, ctx);
    res.status(200).set(download.headers);
    // The response's backpressure reaches the agent; a client that goes away destroys the stream (query.cancel).
    await pumpDownload(download.stream, res);
  }
}
