import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** Ids as the event catalog takes them (`isId`). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const ID_MESSAGE = 'must be an id of 1-128 characters [A-Za-z0-9._:-]';

/** A repository's secrets: `PUT /api/repositories/{id}/secrets`, and with a URL `PUT /api/hosts/{id}/repository`. */
export class RepositorySecretsDto {
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

/** `POST /api/repositories` and `PUT /api/repositories/{id}`: a name and a URL without secrets. */
export class RepositoryDefinitionDto {
  @ApiProperty({ example: 'offsite' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  readonly name!: string;

  @ApiProperty({
    example: 'rest:https://rest.example:8000/fleet',
    description: 'Where restic finds the repository; no password in it (set secrets separately).',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  readonly url!: string;
}

/** `POST /api/repositories/{id}/hosts`. */
export class AttachHostDto {
  @ApiProperty()
  @IsString()
  @Matches(ID_PATTERN, { message: `host_id ${ID_MESSAGE}` })
  readonly host_id!: string;
}

/** `GET /api/repositories/{id}/snapshots?host=`. */
export class RepositorySnapshotsQueryDto {
  @ApiPropertyOptional({ description: 'Only snapshots taken by this host (its id).' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: `host ${ID_MESSAGE}` })
  readonly host?: string;
}
