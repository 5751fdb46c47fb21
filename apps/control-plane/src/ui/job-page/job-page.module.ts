import { Module } from '@nestjs/common';
import { ReadModelsModule } from '../../api/read-models.module';
import { CommandsModule } from '../../commands/commands.module';
import { UiModule } from '../ui.module';
import { JobPageController } from './job-page.controller';
import { JobPagePresenter } from './job-page.presenter';

/** The job page; shares the admin UI's layout and error handling through UiModule. */
@Module({
  imports: [UiModule, ReadModelsModule, CommandsModule],
  controllers: [JobPageController],
  providers: [JobPagePresenter],
})
export class JobPageModule {}
