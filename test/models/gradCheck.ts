import { expect } from 'vitest';

/**
 * Checks one analytic gradient entry against a central finite difference of the loss, moving
 * param[i] by ±1e-3 and restoring it. The tolerance allows float32 noise in the loss.
 */
export function checkGradient(analytic: number, param: Float32Array, i: number, lossAt: () => number): void {
  const eps = 1e-3;
  const x = param[i];
  param[i] = x + eps;
  const up = lossAt();
  param[i] = x - eps;
  const down = lossAt();
  param[i] = x;
  const numeric = (up - down) / (2 * eps);
  expect(Math.abs(numeric - analytic)).toBeLessThanOrEqual(2e-3 + 2e-2 * Math.max(Math.abs(numeric), Math.abs(analytic)));
}
