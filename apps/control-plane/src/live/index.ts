export { LiveModule } from './live.module';
export { LiveSettings, LiveSettingsError } from './live.settings';
export type {
  LiveMessage,
  LiveLogMessage,
  LiveProgressMessage,
  LiveStatusMessage,
  LiveDroppedMessage,
  LiveEndMessage,
} from './live-messages';
