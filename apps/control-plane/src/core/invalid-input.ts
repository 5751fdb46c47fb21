import type { FieldIssue } from '@rf/events';
import { AppError } from './app-error';

/** A 400 naming every bad field, from catalog validation issues. */
export function invalidInput(issues: readonly FieldIssue[], stripPrefix = ''): AppError {
  const fields: Record<string, string[]> = {};
  for (const issue of issues) {
    const name =
      stripPrefix && issue.field.startsWith(stripPrefix)
        ? issue.field.slice(stripPrefix.length)
        : issue.field;
    (fields[name] ??= []).push(issue.message);
  }
  const first = Object.keys(fields)[0];
  return new AppError('invalid_input', issues.map((i) => i.message).join('; ') || 'invalid input', {
    ...(first !== undefined ? { field: first } : {}),
    fields,
  });
}
