import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../../services/read-models.module';
import { CommandsModule } from '../../services/fleet.module';
import { UiModule } from '../ui.module';
import { JobPageController } from '../controllers/job-page.controller';
import { JobPagePresenter } from '../presenters/job-page.presenter';

/** The job page; shares the admin UI's layout and error handling through UiModule. */
@Module({
  imports: [UiModule, ReadModelsModule, CommandsModule],
  controllers: [JobPageController],
  providers: [JobPagePresenter],
})
export class JobPageModule {}
