import { Inject, Injectable, Logger } from '@nestjs/common';
import { Eta } from 'eta';
import type { Request } from 'express';
import { actorOf } from '../middleware/auth.decorators';
import { roleSatisfies, type Actor, type Role } from '../core/actor';
import { csrfHiddenInput } from '../middleware/auth.cookies';
import { AppConfig } from '../core/app-config';
import { UiAssetsRepository } from '../repositories/ui-assets.repository';
import { READ_MODELS, type ReadModels } from '../repositories/read-models.port';

export interface PageOptions {
  readonly title: string;
  /** Which main navigation entry is current: `dashboard`, `repositories`, `jobs`, `audit`, `settings`. */
  readonly active?: string;
  /** Loads uPlot and the chart script. */
  readonly charts?: boolean;
  /** Extra page scripts and stylesheets (e.g. `/ui/assets/job-page.js`). */
  readonly scripts?: readonly string[];
  readonly styles?: readonly string[];
}

export interface UiUser {
  readonly name: string;
  readonly role: Role;
  readonly canOperate: boolean;
  readonly isAdmin: boolean;
}

interface NavItem {
  key: string;
  href: string;
  label: string;
  min: Role;
}

const NAV: readonly NavItem[] = [
  { key: 'dashboard', href: '/', label: 'Dashboard', min: 'viewer' },
  { key: 'repositories', href: '/repositories', label: 'Repositories', min: 'viewer' },
  { key: 'jobs', href: '/jobs', label: 'Jobs', min: 'viewer' },
  { key: 'alerts', href: '/alerts', label: 'Alerts', min: 'viewer' },
  { key: 'audit', href: '/audit', label: 'Audit', min: 'operator' },
  { key: 'settings', href: '/settings', label: 'Settings', min: 'viewer' },
];

/** The UI's view of who is signed in; viewers get no write buttons. */
export function uiUserOf(actor: Actor | undefined): UiUser | null {
  if (!actor || !actor.role) return null;
  return {
    name: actor.name ?? actor.id,
    role: actor.role,
    canOperate: roleSatisfies(actor.role, 'operator'),
    isAdmin: roleSatisfies(actor.role, 'admin'),
  };
}

/**
 * Renders eta views from `ui/views` and wraps pages in the shared layout.
 * Other UI areas (the job page) call `page()` with their own body HTML.
 */
@Injectable()
export class UiRenderer {
  private readonly eta: Eta;
  private readonly logger = new Logger(UiRenderer.name);

  constructor(
    private readonly config: AppConfig,
    assets: UiAssetsRepository,
    @Inject(READ_MODELS) private readonly models: ReadModels,
  ) {
    this.eta = new Eta({
      views: assets.viewsDir,
      autoEscape: true,
      cache: process.env.NODE_ENV === 'production',
      autoTrim: false,
    });
  }

  /** One view or partial (name relative to `ui/views`, without `.eta`). */
  view(name: string, data: object): string {
    return this.eta.render(name, data);
  }

  /** A full page: the layout around `body` (already-rendered, trusted HTML). */
  page(req: Request, options: PageOptions, body: string): string {
    const user = uiUserOf(actorOf(req));
    return this.eta.render('layout', {
      title: options.title,
      active: options.active ?? '',
      charts: options.charts === true,
      scripts: options.scripts ?? [],
      styles: options.styles ?? [],
      user,
      nav: NAV.filter((n) => user !== null && roleSatisfies(user.role, n.min)),
      openAlerts: user === null ? null : this.openAlerts(),
      csrfInput: csrfHiddenInput(req),
      version: this.config.version,
      body,
    });
  }

  /** A full page from one view: `data` also gets `user` and `csrfInput`. */
  render(req: Request, view: string, options: PageOptions, data: object = {}): string {
    return this.page(req, options, this.view(view, this.withRequest(req, data)));
  }

  /** A partial for htmx with the same `user`/`csrfInput` helpers a page gets. */
  partial(req: Request, view: string, data: object = {}): string {
    return this.view(view, this.withRequest(req, data));
  }

  /** Alerts not yet resolved, for the top bar; a page still renders when the read model cannot answer. */
  openAlerts(): number | null {
    try {
      return this.models.alerts.openCount();
    } catch (err) {
      this.logger.warn({ err }, 'cannot count open alerts for the top bar');
      return null;
    }
  }

  private withRequest(req: Request, data: object): object {
    return { user: uiUserOf(actorOf(req)), csrfInput: csrfHiddenInput(req), ...data };
  }
}
