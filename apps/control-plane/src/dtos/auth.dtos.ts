import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { ROLES, type Role } from '../core/actor';
import {
  HOSTNAME_PATTERN,
  MIN_PASSWORD_LENGTH,
  PLATFORM_PATTERN,
  USERNAME_PATTERN,
} from '../domain/identity.rules';

export class LoginDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  username!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  password!: string;
}

export class CreateUserDto {
  @IsString()
  @Matches(USERNAME_PATTERN, {
    message: 'username must be 1..64 characters [A-Za-z0-9._@-], starting with a letter or digit',
  })
  username!: string;

  @IsIn(ROLES)
  role!: Role;

  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(1024)
  password!: string;
}

export class UpdateUserDto {
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @IsOptional()
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(1024)
  password?: string;

  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

export class CreateApiTokenDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  name!: string;

  @IsIn(ROLES)
  role!: Role;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3650)
  expires_in_days?: number;
}

export class CreateEnrolmentTokenDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(7 * 24 * 60)
  expires_in_minutes?: number;
}

export class EnrolDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token!: string;

  @IsString()
  @Matches(HOSTNAME_PATTERN, {
    message: 'hostname must be a host name (letters, digits, . _ -; up to 253 chars)',
  })
  hostname!: string;

  @IsString()
  @Matches(PLATFORM_PATTERN, { message: 'os must be 1..32 letters, digits or _' })
  os!: string;

  @IsString()
  @Matches(PLATFORM_PATTERN, { message: 'arch must be 1..32 letters, digits or _' })
  arch!: string;
}
