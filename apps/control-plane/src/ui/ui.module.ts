import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../services/read-models.module';
import { CommandsModule } from '../services/fleet.module';
import { SessionsModule } from '../gateway/sessions.module';
import { ProjectionsModule } from '../services/projections.module';
import { DashboardPresenter } from './presenters/dashboard.presenter';
import { AuditPageController } from './controllers/audit-page.controller';
import { DashboardPageController } from './controllers/dashboard-page.controller';
import { HostPageController } from './controllers/host-page.controller';
import { JobsListPageController } from './controllers/jobs-page.controller';
import { SettingsPageController } from './controllers/settings-page.controller';
import { HostPagePresenter } from './presenters/host-page.presenter';
import { LoginPageController } from './controllers/login-page.controller';
import { UiAssetsController } from './controllers/ui-assets.controller';
import { UiExceptionFilter } from './ui-exception.filter';
import { UiRenderer } from './ui-renderer.service';

/**
 * The admin UI: server-rendered pages (eta) refreshed by htmx partials.
 * Exports `UiRenderer` and `UiExceptionFilter` so the job page shares the
 * layout and error handling.
 */
@Module({
  imports: [CommandsModule, ReadModelsModule, ProjectionsModule, SessionsModule],
  controllers: [
    UiAssetsController,
    LoginPageController,
    DashboardPageController,
    HostPageController,
    JobsListPageController,
    AuditPageController,
    SettingsPageController,
  ],
  providers: [UiRenderer, UiExceptionFilter, DashboardPresenter, HostPagePresenter],
  exports: [UiRenderer, UiExceptionFilter],
})
export class UiModule {}
