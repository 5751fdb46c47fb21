import { ApiProperty } from '@nestjs/swagger';
import { IsArray, IsNotEmpty, IsString, MaxLength, ArrayMaxSize } from 'class-validator';
import { RepositorySecretsDto } from './repository.dtos';

/** `PUT /api/hosts/{id}/repository`: the host's own repository, URL and secrets in one. */
export class ConfigureRepositoryDto extends RepositorySecretsDto {
  @ApiProperty({ example: 'sftp:backup@nas:/srv/restic/web-1' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  readonly url!: string;
}

export class PutSchedulesDto {
  /** Each entry is validated by the catalog (`Schedule`): id, kind, cron (croner), enabled, the kind's args. */
  @ApiProperty({ type: [Object] })
  @IsArray()
  @ArrayMaxSize(1000)
  readonly schedules!: unknown[];
}
