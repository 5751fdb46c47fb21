import { Module } from '@nestjs/common';
import { BrowseModule } from '../services/browse.module';
import { AlertsModule } from '../services/alerts.module';
import { FleetModule } from '../services/fleet.module';
import { ProjectionsModule } from '../services/projections.module';
import { ReadModelsModule } from '../services/read-models.module';
import { AlertSettingsPageController } from './controllers/alert-settings-page.controller';
import { AlertsPageController } from './controllers/alerts-page.controller';
import { AuditPageController } from './controllers/audit-page.controller';
import { DashboardPageController } from './controllers/dashboard-page.controller';
import { HostPageController } from './controllers/host-page.controller';
import { JobPageController } from './controllers/job-page.controller';
import { JobsListPageController } from './controllers/jobs-page.controller';
import { LoginPageController } from './controllers/login-page.controller';
import { RepositoriesPageController } from './controllers/repositories-page.controller';
import { RepositoryFormsController } from './controllers/repository-forms.controller';
import { RestoreDialogController } from './controllers/restore-dialog.controller';
import { SettingsPageController } from './controllers/settings-page.controller';
import { SnapshotBrowsePageController } from './controllers/snapshot-browse-page.controller';
import { SnapshotComparePageController } from './controllers/snapshot-compare-page.controller';
import { UiAssetsController } from './controllers/ui-assets.controller';
import { AlertSettingsPresenter } from './presenters/alert-settings.presenter';
import { AlertsPresenter } from './presenters/alerts.presenter';
import { DashboardPresenter } from './presenters/dashboard.presenter';
import { HostPagePresenter } from './presenters/host-page.presenter';
import { JobPagePresenter } from './presenters/job-page.presenter';
import { RepositoriesPresenter } from './presenters/repositories.presenter';
import { RestoreDialogPresenter } from './presenters/restore-dialog.presenter';
import { SnapshotComparePresenter } from './presenters/snapshot-compare.presenter';
import { UiExceptionFilter } from './ui-exception.filter';
import { UiRenderer } from './ui-renderer.service';

/**
 * The admin UI: server-rendered pages (eta views in `ui/views`) refreshed by
 * htmx partials, and the job page kept live by the browser bundle in
 * `ui/client` over the live tail. Controllers render what presenters build
 * from the read models; orders go through the fleet services.
 */
@Module({
  imports: [FleetModule, ReadModelsModule, ProjectionsModule, AlertsModule, BrowseModule],
  controllers: [
    SnapshotBrowsePageController,
    SnapshotComparePageController,
    RestoreDialogController,
    UiAssetsController,
    LoginPageController,
    DashboardPageController,
    HostPageController,
    RepositoriesPageController,
    RepositoryFormsController,
    JobsListPageController,
    AuditPageController,
    AlertsPageController,
    AlertSettingsPageController,
    SettingsPageController,
    JobPageController,
  ],
  providers: [
    UiRenderer,
    UiExceptionFilter,
    AlertsPresenter,
    AlertSettingsPresenter,
    DashboardPresenter,
    HostPagePresenter,
    JobPagePresenter,
    RepositoriesPresenter,
    RestoreDialogPresenter,
    SnapshotComparePresenter,
  ],
})
export class UiModule {}
