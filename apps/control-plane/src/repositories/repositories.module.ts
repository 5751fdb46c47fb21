import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../core/app-config';
import { SecretBox } from '../core/secret-box';
import { AgentDeliveryRepository } from './agent-delivery.repository';
import { PasswordHasher } from './password.hasher';
import { SecretKeyRepository } from './secret-key.repository';
import { UiAssetsRepository } from './ui-assets.repository';

/**
 * The control plane's own files and native helpers, for every module: the
 * repository-secret key (loaded or created 0600 once at boot from
 * RF_SECRET_KEY_FILE, then held by the pure `SecretBox`), password hashing, the admin UI's files and what is delivered to hosts (the
 * single-file agent, the install scripts). The event log and the read
 * models have their own modules (EventStoreModule, ProjectionsModule).
 */
@Global()
@Module({
  providers: [
    SecretKeyRepository,
    {
      provide: SecretBox,
      inject: [AppConfig, SecretKeyRepository],
      useFactory: (config: AppConfig, keys: SecretKeyRepository) =>
        new SecretBox(keys.load(config.secretKeyFile)),
    },
    PasswordHasher,
    UiAssetsRepository,
    AgentDeliveryRepository,
  ],
  exports: [SecretBox, PasswordHasher, UiAssetsRepository, AgentDeliveryRepository],
})
export class RepositoriesModule {}
