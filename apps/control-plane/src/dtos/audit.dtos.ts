import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** `GET /api/audit` filters. */
export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'A stream (job-…) or a category (job, host)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  readonly stream?: string;
  @ApiPropertyOptional({ description: 'ISO time or an age such as 24h, 7d' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  readonly since?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) readonly actor?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(8) readonly limit?: string;
}
