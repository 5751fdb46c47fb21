import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../core/app-config';
import { SecretBox } from '../core/secret-box';

/** The repository-secret key, loaded (or created 0600) once at boot from RF_SECRET_KEY_FILE. */
@Global()
@Module({
  providers: [
    {
      provide: SecretBox,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => SecretBox.fromKeyFile(config.secretKeyFile),
    },
  ],
  exports: [SecretBox],
})
export class CryptoModule {}
