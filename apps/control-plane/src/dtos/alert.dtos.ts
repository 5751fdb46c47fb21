import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { ALERT_RULES, CHANNEL_KINDS, ChannelRouting, type AlertRuleName, type ChannelKind } from '@rf/events';

export const ALERT_STATE_FILTERS = ['open', 'resolved', 'all'] as const;

/** `GET /api/alerts?state=&host=&rule=`. */
export class ListAlertsQueryDto {
  @ApiPropertyOptional({
    enum: ALERT_STATE_FILTERS,
    description: 'open (default) takes acknowledged alerts too',
  })
  @IsOptional()
  @IsIn(ALERT_STATE_FILTERS)
  readonly state?: (typeof ALERT_STATE_FILTERS)[number];

  @ApiPropertyOptional({ description: 'A host id' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  readonly host?: string;

  @ApiPropertyOptional({ enum: ALERT_RULES })
  @IsOptional()
  @IsIn(ALERT_RULES)
  readonly rule?: AlertRuleName;
}

export class AcknowledgeAlertDto {
  @ApiPropertyOptional({ description: 'Why, for the audit trail and the alert history' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  readonly note?: string;
}

/** Each field is checked by the catalog's rules and named when wrong (docs/alerts.md, "Settings"). */
export class PutAlertRulesDto {
  @ApiProperty({ description: '{<rule>: {enabled?, threshold_s?, severity?}}', type: Object })
  @IsObject()
  readonly rules!: Record<string, unknown>;

  @ApiPropertyOptional({ description: '{<hostId>: {<rule>: {…}}}', type: Object })
  @IsOptional()
  @IsObject()
  readonly host_overrides?: Record<string, unknown>;
}

/** `POST` and `PUT /api/notification-channels`: settings are checked per kind (docs/alerts.md, "Channels"). */
export class ChannelDto {
  @ApiProperty({ enum: CHANNEL_KINDS })
  @IsIn(CHANNEL_KINDS)
  readonly kind!: ChannelKind;

  @ApiProperty({ example: 'ops webhook' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  readonly name!: string;

  @ApiProperty({
    type: Object,
    description:
      'The kind’s fields; secrets are stored encrypted and never returned; on an edit a secret left out keeps its value.',
    writeOnly: true,
  })
  @IsObject()
  readonly settings!: Record<string, unknown>;

  @ApiPropertyOptional({ type: Object, description: '{min_severity?, rules?, hosts?, reminder_hours?}' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ChannelRouting)
  readonly routing?: ChannelRouting;
}
