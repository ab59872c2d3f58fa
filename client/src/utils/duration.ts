/** Splits seconds into whole minutes and the seconds left over, for messages such as "1분 30초". */
export function splitSeconds(totalSeconds: number): { m: number; s: number } {
  const total = Math.max(0, Math.ceil(totalSeconds));
  return { m: Math.floor(total / 60), s: total % 60 };
}

/** "mm:ss" of a number of milliseconds, for the session timer. */
export function clock(ms: number): string {
  const { m, s } = splitSeconds(ms / 1000);
  return `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}
