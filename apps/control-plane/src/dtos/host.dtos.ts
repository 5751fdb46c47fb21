import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsNotEmpty, IsOptional, IsString, MaxLength, ArrayMaxSize } from 'class-validator';

export class ConfigureRepositoryDto {
  @ApiProperty({ example: 'sftp:backup@nas:/srv/restic/web-1' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  readonly url!: string;

  @ApiProperty({ description: 'The repository password; stored encrypted, never returned.', writeOnly: true })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  readonly password!: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(256) readonly username?: string;

  @ApiPropertyOptional({
    description: 'Backend credential (e.g. a cloud secret key); stored encrypted, never returned.',
    writeOnly: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  readonly credential?: string;
}

export class PutSchedulesDto {
  /** Each entry is validated by the catalog (`Schedule`): id, kind, cron (croner), enabled, the kind's args. */
  @ApiProperty({ type: [Object] })
  @IsArray()
  @ArrayMaxSize(1000)
  readonly schedules!: unknown[];
}
