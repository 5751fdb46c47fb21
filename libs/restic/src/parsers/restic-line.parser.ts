import { isObject, JsonObject, tryJson } from './json-fields';

/** One line of restic output as it arrived: JSON (keyed by message_type when present) or text. */
export type ResticLine =
  | { kind: 'json'; messageType: string | undefined; value: JsonObject }
  | { kind: 'document'; value: unknown[] }
  | { kind: 'text'; text: string };

export function parseResticLine(line: string): ResticLine {
  const v = tryJson(line);
  if (Array.isArray(v)) return { kind: 'document', value: v };
  if (isObject(v)) {
    const mt = v['message_type'];
    return { kind: 'json', messageType: typeof mt === 'string' ? mt : undefined, value: v };
  }
  return { kind: 'text', text: line };
}

/** `exit_error` (0.18+): the fatal message and the exit code restic is about to return. */
export interface ResticExitError {
  code: number;
  message: string;
}

export function exitErrorOf(value: JsonObject): ResticExitError {
  const code = value['code'];
  const message = value['message'];
  return {
    code: typeof code === 'number' ? code : 0,
    message: typeof message === 'string' ? message.trim() : '',
  };
}

export function tryJsonObject(line: string): JsonObject | undefined {
  const v = tryJson(line);
  return isObject(v) ? v : undefined;
}
