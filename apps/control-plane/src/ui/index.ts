export { UiModule } from './ui.module';
export { UiRenderer, uiUserOf, type PageOptions, type UiUser } from './ui-renderer.service';
export { UiExceptionFilter } from './ui-exception.filter';
export * as uiFormat from './ui-format';
export { fmt } from './ui-fmt';
export { jsonForScript } from './ui-html';
