import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { AppError } from '../core/app-error';

/** A query parameter given at most once, as text (Express makes `?a=1&a=2` an array). */
@Injectable()
export class QueryTextPipe implements PipeTransform<unknown, string | undefined> {
  transform(value: unknown, metadata: ArgumentMetadata): string | undefined {
    if (value === undefined || typeof value === 'string') return value;
    const field = metadata.data ?? 'query';
    throw new AppError('invalid_input', `${field} must be given once, as text`, { field });
  }
}
