import { comparePositions, type Position } from '@rf/events';

/**
 * The newest position this process appended. Read endpoints wait for the
 * read models to reach it, so a write followed by a read sees its own change.
 */
export class WritePositions {
  private last: Position | null = null;

  note(position: Position): void {
    if (this.last === null || comparePositions(position, this.last) > 0) this.last = position;
  }

  get latest(): Position | null {
    return this.last;
  }
}
