import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../api/read-models.module';
import { CommandsModule } from '../commands/commands.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { SessionsModule } from '../gateway/sessions.module';
import { ProjectionsModule } from '../projections/projections.module';
import { DashboardPresenter } from './dashboard.presenter';
import { AuditPageController } from './pages/audit.controller';
import { DashboardPageController } from './pages/dashboard.controller';
import { HostPageController } from './pages/host.controller';
import { JobsListPageController } from './pages/jobs-list.controller';
import { SettingsPageController } from './pages/settings.controller';
import { HostPagePresenter } from './host-page.presenter';
import { LoginPageController } from './pages/login.controller';
import { UiAssetsController } from './ui-assets.controller';
import { UiExceptionFilter } from './ui-exception.filter';
import { UiRenderer } from './ui-renderer.service';

/**
 * The admin UI: server-rendered pages (eta) refreshed by htmx partials.
 * Exports `UiRenderer` and `UiExceptionFilter` so the job page shares the
 * layout and error handling.
 */
@Module({
  imports: [CommandsModule, ReadModelsModule, ProjectionsModule, SessionsModule, DeliveryModule],
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
