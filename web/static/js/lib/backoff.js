// @ts-check
// Reconnect delays (docs/operations.md, a socket drops; LiveKit's schedule): 0, 300 ms, 1.2 s, 2.7 s,
// 4.8 s, 7.5 s, then 10 s, each plus up to 30% random so that clients dropped together
// (a server restart) do not come back together.

export const MAX_DELAY_MS = 10_000;
export const JITTER = 0.3;

/**
 * The delay (ms) before reconnect attempt `attempt` (0: at once).
 * @param {number} attempt
 * @param {() => number} [random]  0 ≤ x < 1
 */
export function reconnectDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY_MS, 300 * attempt * attempt);
  return Math.round(base * (1 + JITTER * random()));
}
