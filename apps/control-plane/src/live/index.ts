export { LiveModule } from './live.module';
export { LiveSettings, LiveSettingsError } from '../core/live.settings';
export type {
  LiveMessage,
  LiveLogMessage,
  LiveProgressMessage,
  LiveStatusMessage,
  LiveDroppedMessage,
  LiveEndMessage,
} from '../gateways/live-messages';
